//! [`BanStore`]: bans, and one query that checks all of a request's identifiers.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::ban::{self, ActiveModel, Column, Entity};
use anyhow::Context as _;
use async_trait::async_trait;
use domain::ban::{Ban, BanKind, BanProbe, BanTarget, NewBan};
use domain::ports::BanStore;
use domain::values::{ApplicationId, BanId, HardwareId, IpBanRange, LicenseId, UserId};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

impl TryFrom<ban::Model> for Ban {
    type Error = anyhow::Error;

    fn try_from(model: ban::Model) -> anyhow::Result<Self> {
        let key = || {
            model
                .match_key
                .as_deref()
                .context("a ban without a match key")
        };
        let id = || -> anyhow::Result<Uuid> { Uuid::parse_str(key()?).context("stored ban id") };
        let target = match BanKind::parse(&model.kind) {
            Some(BanKind::Ip) => {
                BanTarget::Ip(IpBanRange::parse(&model.value).context("stored ip range")?)
            }
            Some(BanKind::HardwareId) => {
                BanTarget::HardwareId(HardwareId::parse(key()?).context("stored hardware id")?)
            }
            Some(BanKind::License) => BanTarget::License(LicenseId::from_uuid(id()?)),
            Some(BanKind::User) => BanTarget::User(UserId::from_uuid(id()?)),
            None => anyhow::bail!("unknown ban kind {:?}", model.kind),
        };
        Ok(Self {
            id: BanId::from_uuid(model.id),
            target,
            reason: model.reason,
            created_at: model.created_at,
        })
    }
}

/// What non-IP bans match on; IP bans match on their bounds instead.
fn match_key(target: &BanTarget) -> Option<String> {
    match target {
        BanTarget::Ip(_) => None,
        BanTarget::HardwareId(id) => Some(id.as_str().to_owned()),
        BanTarget::License(id) => Some(id.to_string()),
        BanTarget::User(id) => Some(id.to_string()),
    }
}

fn kind_is(kind: BanKind) -> sea_orm::sea_query::SimpleExpr {
    Column::Kind.eq(kind.as_str())
}

/// One OR-condition over every identifier the probe carries; `None` when it carries none.
fn probe_condition(probe: &BanProbe) -> Option<Condition> {
    let mut any = Condition::any();
    if let Some(ip) = probe.ip {
        let key = ip.key().to_vec();
        any = any.add(
            Condition::all()
                .add(kind_is(BanKind::Ip))
                .add(Column::IpStart.lte(key.clone()))
                .add(Column::IpEnd.gte(key)),
        );
    }
    let exact = [
        (
            BanKind::HardwareId,
            probe.hardware_id.as_ref().map(|id| id.as_str().to_owned()),
        ),
        (BanKind::License, probe.license.map(|id| id.to_string())),
        (BanKind::User, probe.user.map(|id| id.to_string())),
    ];
    for (kind, key) in exact {
        if let Some(key) = key {
            any = any.add(
                Condition::all()
                    .add(kind_is(kind))
                    .add(Column::MatchKey.eq(key)),
            );
        }
    }
    (!any.is_empty()).then_some(any)
}

#[async_trait]
impl BanStore for SeaOrmStore {
    async fn create(&self, app: ApplicationId, ban: &NewBan) -> anyhow::Result<Ban> {
        let bounds = match &ban.target {
            BanTarget::Ip(range) => Some(range.bounds()),
            _ => None,
        };
        let model = ActiveModel {
            id: Set(ban.id.as_uuid()),
            application_id: Set(app.as_uuid()),
            kind: Set(ban.target.kind().as_str().to_owned()),
            value: Set(ban.target.value()),
            match_key: Set(match_key(&ban.target)),
            ip_start: Set(bounds.map(|(start, _)| start.to_vec())),
            ip_end: Set(bounds.map(|(_, end)| end.to_vec())),
            reason: Set(ban.reason.clone()),
            created_at: Set(ban.created_at),
        };
        Entity::insert(model)
            .exec_without_returning(&self.db)
            .await
            .or_unavailable("inserting a ban")?;
        Ok(ban.created())
    }

    async fn list(&self, app: ApplicationId) -> anyhow::Result<Vec<Ban>> {
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .order_by_asc(Column::CreatedAt)
            .all(&self.db)
            .await
            .or_unavailable("listing bans")?
            .into_iter()
            .map(Ban::try_from)
            .collect()
    }

    async fn delete(&self, app: ApplicationId, id: BanId) -> anyhow::Result<bool> {
        let result = Entity::delete_many()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await
            .or_unavailable("deleting a ban")?;
        Ok(result.rows_affected > 0)
    }

    async fn find_ban(
        &self,
        app: ApplicationId,
        probe: &BanProbe,
    ) -> anyhow::Result<Option<BanKind>> {
        let Some(condition) = probe_condition(probe) else {
            return Ok(None);
        };
        let kind: Option<String> = Entity::find()
            .select_only()
            .column(Column::Kind)
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(condition)
            .into_tuple()
            .one(&self.db)
            .await
            .or_unavailable("checking bans")?;
        kind.map(|kind| BanKind::parse(&kind).context("stored ban kind"))
            .transpose()
    }
}
