//! Webhooks read the events table as their queue: a change's transaction writes its events
//! and nothing else for webhooks, and the dispatcher hands each committed event to the
//! endpoints subscribed to it, from a position it moves forward.
//!
//! A position needs an order in which no event can appear behind it later, that is, the order
//! of commits, which ids (made before the commit) do not give. `events.commit_order` gives it:
//!
//! - on PostgreSQL, the id of the transaction that wrote the event (`pg_current_xact_id()`),
//!   read only below the oldest transaction still running (`pg_snapshot_xmin`): every
//!   transaction with a lower id has ended, so nothing can be added there any more;
//! - on SQLite, which lets one transaction write at a time, a counter the writer takes as one
//!   more than the last.
//!
//! An endpoint is sent the events that occur while it is on: `enabled_since` says since
//! when (`NULL`, for endpoints made before, means since their creation).
//!
//! `webhook_fan_out` is the one row holding the position (`commit_order`, then the event id
//! within a transaction) and the lease of the replica moving it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, small_integer, timestamp_with_time_zone_null, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    CommitOrder,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    EnabledSince,
}

#[derive(DeriveIden)]
enum WebhookFanOut {
    Table,
    Id,
    CommitOrder,
    EventId,
    Lease,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        if postgres {
            // Rows written before this migration all take its own transaction's id.
            db.execute_unprepared(
                "ALTER TABLE events ADD COLUMN commit_order bigint NOT NULL \
                 DEFAULT (pg_current_xact_id()::text::bigint)",
            )
            .await?;
        } else {
            manager
                .alter_table(
                    Table::alter()
                        .table(Events::Table)
                        .add_column(big_integer(Events::CommitOrder).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("events_commit_order")
                    .table(Events::Table)
                    .col(Events::CommitOrder)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await?;
        // An endpoint is sent the events that occur once it is on; it was, for those before.
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookEndpoints::Table)
                    .add_column(timestamp_with_time_zone_null(
                        WebhookEndpoints::EnabledSince,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookFanOut::Table)
                    .col(small_integer(WebhookFanOut::Id).primary_key())
                    .col(big_integer(WebhookFanOut::CommitOrder))
                    .col(uuid(WebhookFanOut::EventId))
                    .col(uuid_null(WebhookFanOut::Lease))
                    .col(timestamp_with_time_zone_null(WebhookFanOut::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        // Events recorded before this migration had their deliveries queued with them: the
        // position starts after the last of them (the greatest id of the greatest order).
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(WebhookFanOut::Table)
                    .columns([
                        WebhookFanOut::Id,
                        WebhookFanOut::CommitOrder,
                        WebhookFanOut::EventId,
                    ])
                    .values([
                        1.into(),
                        Expr::cust("(SELECT coalesce(max(commit_order), 0) FROM events)"),
                        sea_orm_migration::sea_orm::prelude::Uuid::max().into(),
                    ])
                    .map_err(|error| DbErr::Custom(error.to_string()))?
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookEndpoints::Table)
                    .drop_column(WebhookEndpoints::EnabledSince)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookFanOut::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("events_commit_order")
                    .table(Events::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::CommitOrder)
                    .to_owned(),
            )
            .await
    }
}
