//! [`NonceStore`] in the database: the primary key on (application, nonce) lets exactly one
//! of any number of concurrent requests, on any replica, record a nonce.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::request_nonce::{ActiveModel, Column, Entity};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::NonceStore;
use domain::values::ApplicationId;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

#[async_trait]
impl NonceStore for SeaOrmStore {
    async fn record(
        &self,
        app: ApplicationId,
        nonce: &str,
        keep_until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let row = ActiveModel {
            application_id: Set(app.as_uuid()),
            nonce: Set(nonce.to_owned()),
            expires_at: Set(keep_until),
        };
        let inserted = Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::ApplicationId, Column::Nonce])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .or_unavailable("recording a request nonce")?;
        Ok(inserted == 1)
    }

    async fn delete_expired(&self, now: DateTime<Utc>, batch: u64) -> anyhow::Result<u64> {
        // A bounded batch per statement, so that a large backlog never holds locks for long.
        let batch_keys = Query::select()
            .columns([Column::ApplicationId, Column::Nonce])
            .from(Entity)
            .and_where(Column::ExpiresAt.lte(now))
            .limit(batch)
            .to_owned();
        let key = Expr::tuple([Expr::col(Column::ApplicationId), Expr::col(Column::Nonce)]);
        Ok(Entity::delete_many()
            .filter(key.in_subquery(batch_keys))
            .exec(&self.db)
            .await
            .or_unavailable("deleting expired nonces")?
            .rows_affected)
    }
}
