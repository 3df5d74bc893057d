//! [`SessionStore`] and [`VariableStore`], and the session writes of sign-in transactions.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::session::{self, ActiveModel, Column, Entity};
use crate::entities::variable;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{SessionStore, VariableStore};
use domain::session::{NewSession, Session, Variable};
use domain::values::{ApplicationId, DeviceId, Digest, SessionId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

impl From<session::Model> for Session {
    fn from(model: session::Model) -> Self {
        Self {
            id: SessionId::from_uuid(model.id),
            user: UserId::from_uuid(model.user_id),
            expires_at: model.expires_at,
            revoked_at: model.revoked_at,
        }
    }
}

pub(crate) async fn insert<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    new: &NewSession,
) -> anyhow::Result<()> {
    let model = ActiveModel {
        id: Set(new.id.as_uuid()),
        application_id: Set(app.as_uuid()),
        user_id: Set(new.user.as_uuid()),
        device_id: Set(new.device.map(|id| id.as_uuid())),
        token_digest: Set(new.token_digest.as_bytes().to_vec()),
        created_at: Set(new.created_at),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .or_unavailable("creating a session")?;
    Ok(())
}

pub(crate) async fn revoke_device<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    device: DeviceId,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(at))
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::UserId.eq(user.as_uuid()))
        .filter(Column::DeviceId.eq(device.as_uuid()))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await
        .or_unavailable("revoking a device's sessions")?;
    Ok(())
}

pub(crate) async fn count_live<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    Entity::find()
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::UserId.eq(user.as_uuid()))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .count(db)
        .await
        .or_unavailable("counting live sessions")
}

#[async_trait]
impl SessionStore for SeaOrmStore {
    async fn find_by_token(
        &self,
        app: ApplicationId,
        token: &Digest,
    ) -> anyhow::Result<Option<Session>> {
        Ok(Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::TokenDigest.eq(token.as_bytes().to_vec()))
            .one(&self.db)
            .await
            .or_unavailable("finding a session")?
            .map(Session::from))
    }
}

#[async_trait]
impl VariableStore for SeaOrmStore {
    async fn list(&self, app: ApplicationId) -> anyhow::Result<Vec<Variable>> {
        Ok(variable::Entity::find()
            .filter(variable::Column::ApplicationId.eq(app.as_uuid()))
            .order_by_asc(variable::Column::Name)
            .all(&self.db)
            .await
            .or_unavailable("listing variables")?
            .into_iter()
            .map(|model| Variable {
                name: model.name,
                value: model.value,
            })
            .collect())
    }
}
