//! [`SessionStore`] and [`VariableStore`], and the session writes of sign-in transactions.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::session::{self, ActiveModel, Column, Entity};
use crate::entities::variable;
use crate::purge::delete_batch;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{SessionStore, VariableStore};
use domain::session::{NewSession, Session, Variable};
use domain::values::{ApplicationId, DeviceId, Digest, SessionId, UserId};
use sea_orm::sea_query::{Expr, InsertStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait as _, Set,
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

/// The insert of a session, for the transaction that sends it ([`crate::transaction`]).
pub(crate) fn insert_statement(app: ApplicationId, new: &NewSession) -> InsertStatement {
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
    Entity::insert(model).into_query()
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
    async fn count_live(
        &self,
        app: ApplicationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        count_live(&self.db, app, user, now).await
    }

    async fn revoke_all(
        &self,
        app: ApplicationId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(at))
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .or_unavailable("revoking a user's sessions")?;
        Ok(())
    }

    async fn delete_expired(&self, before: DateTime<Utc>, batch: u64) -> anyhow::Result<u64> {
        let expired = Column::ExpiresAt.lt(before);
        delete_batch::<Entity>(
            &self.db,
            &[Column::Id],
            expired,
            batch,
            "deleting expired sessions",
        )
        .await
    }

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
    async fn set(
        &self,
        app: ApplicationId,
        variable: &Variable,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        // Replace by delete-then-insert in one transaction: portable, and the unique index on
        // (application, name) still guards against a concurrent duplicate.
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("starting to set a variable")?;
        variable::Entity::delete_many()
            .filter(variable::Column::ApplicationId.eq(app.as_uuid()))
            .filter(variable::Column::Name.eq(variable.name.as_str()))
            .exec(&txn)
            .await
            .or_unavailable("replacing a variable")?;
        let model = variable::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            application_id: Set(app.as_uuid()),
            name: Set(variable.name.clone()),
            value: Set(variable.value.clone()),
            created_at: Set(at),
            is_public: Set(variable.is_public),
        };
        variable::Entity::insert(model)
            .exec_without_returning(&txn)
            .await
            .or_unavailable("setting a variable")?;
        txn.commit().await.or_unavailable("committing a variable")
    }

    async fn delete(&self, app: ApplicationId, name: &str) -> anyhow::Result<bool> {
        let deleted = variable::Entity::delete_many()
            .filter(variable::Column::ApplicationId.eq(app.as_uuid()))
            .filter(variable::Column::Name.eq(name))
            .exec(&self.db)
            .await
            .or_unavailable("deleting a variable")?;
        Ok(deleted.rows_affected > 0)
    }

    async fn list_after(
        &self,
        app: ApplicationId,
        after: Option<String>,
        limit: u64,
    ) -> anyhow::Result<Vec<Variable>> {
        // The unique index on (application_id, name) serves both the range and the order.
        let mut select =
            variable::Entity::find().filter(variable::Column::ApplicationId.eq(app.as_uuid()));
        if let Some(after) = after {
            select = select.filter(variable::Column::Name.gt(after));
        }
        Ok(select
            .order_by_asc(variable::Column::Name)
            .limit(limit)
            .all(&self.db)
            .await
            .or_unavailable("listing a page of variables")?
            .into_iter()
            .map(|model| Variable {
                name: model.name,
                value: model.value,
                is_public: model.is_public,
            })
            .collect())
    }

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
                is_public: model.is_public,
            })
            .collect())
    }
}
