//! [`NonceStore`] in the database: the primary key on (application, nonce) lets exactly one
//! of any number of concurrent requests, on any replica, record a nonce.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::request_nonce::{ActiveModel, Column, Entity};
use crate::purge::delete_batch;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::NonceStore;
use domain::values::ApplicationId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, Set};

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
        let key = [Column::ApplicationId, Column::Nonce];
        let expired = Column::ExpiresAt.lte(now);
        delete_batch::<Entity>(&self.db, &key, expired, batch, "deleting expired nonces").await
    }
}
