//! [`DeviceStore`], and the insert that sign-up transactions use.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::device::{self, ActiveModel, Column, Entity};
use anyhow::Context as _;
use async_trait::async_trait;
use domain::ports::DeviceStore;
use domain::user::Device;
use domain::values::{ApplicationId, DeviceId, HardwareId, UserId};
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QueryTrait as _, Set,
};

impl TryFrom<device::Model> for Device {
    type Error = anyhow::Error;

    fn try_from(model: device::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: DeviceId::from_uuid(model.id),
            hardware_id: HardwareId::parse(&model.hardware_id).context("stored hardware id")?,
            registered_at: model.registered_at,
        })
    }
}

/// The insert of a device, for the transaction that sends it ([`crate::transaction`]).
pub(crate) fn insert_statement(
    app: ApplicationId,
    user: UserId,
    device: &Device,
) -> InsertStatement {
    let model = ActiveModel {
        id: Set(device.id.as_uuid()),
        application_id: Set(app.as_uuid()),
        user_id: Set(user.as_uuid()),
        hardware_id: Set(device.hardware_id.as_str().to_owned()),
        registered_at: Set(device.registered_at),
    };
    Entity::insert(model).into_query()
}

pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    hardware_id: &HardwareId,
) -> anyhow::Result<Option<Device>> {
    Entity::find()
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::UserId.eq(user.as_uuid()))
        .filter(Column::HardwareId.eq(hardware_id.as_str()))
        .one(db)
        .await
        .or_unavailable("finding a device")?
        .map(Device::try_from)
        .transpose()
}

pub(crate) async fn count<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
) -> anyhow::Result<u64> {
    Entity::find()
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::UserId.eq(user.as_uuid()))
        .count(db)
        .await
        .or_unavailable("counting devices")
}

pub(crate) async fn delete_all<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
) -> anyhow::Result<u64> {
    let deleted = Entity::delete_many()
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::UserId.eq(user.as_uuid()))
        .exec(db)
        .await
        .or_unavailable("deleting a user's devices")?;
    Ok(deleted.rows_affected)
}

#[async_trait]
impl DeviceStore for SeaOrmStore {
    async fn list_for_user(&self, app: ApplicationId, user: UserId) -> anyhow::Result<Vec<Device>> {
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .order_by_asc(Column::RegisteredAt)
            .all(&self.db)
            .await
            .or_unavailable("listing a user's devices")?
            .into_iter()
            .map(Device::try_from)
            .collect()
    }
}
