//! Webhooks: endpoints per application, the deliveries queued for them in the transaction of
//! the events they carry (the outbox), and each attempt to send one.
//!
//! The dispatcher claims due deliveries by `next_attempt_at`; a claim holds one until
//! `lease_until`, so a replica that dies mid-send leaves it due again once its lease runs
//! out. `lease` names the claim, so a late sender cannot record over a newer one. Neither is
//! indexed, and on PostgreSQL the table leaves a fifth of each page free, so a claim updates
//! its rows in place (HOT) without writing index entries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    blob, blob_null, boolean, integer, integer_null, string_len, string_len_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    ApplicationId,
    Url,
    EventTypes,
    Enabled,
    Description,
    SealedSecret,
    PreviousSealedSecret,
    PreviousSecretExpiresAt,
    FailingSince,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    ApplicationId,
    EndpointId,
    MessageId,
    EventId,
    MessageType,
    State,
    AttemptsInRun,
    NextAttemptAt,
    Lease,
    LeaseUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    AttemptedAt,
    Status,
    DurationMs,
    Response,
    Error,
    Outcome,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(uuid(WebhookEndpoints::ApplicationId))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled))
                    .col(string_len(WebhookEndpoints::Description, 1024))
                    .col(blob(WebhookEndpoints::SealedSecret))
                    .col(blob_null(WebhookEndpoints::PreviousSealedSecret))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretExpiresAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::FailingSince,
                    ))
                    .col(string_len_null(WebhookEndpoints::DisabledReason, 16))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_endpoints_application_id")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::ApplicationId)
                    .col(WebhookEndpoints::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::ApplicationId))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::MessageId))
                    .col(uuid_null(WebhookDeliveries::EventId))
                    .col(string_len(WebhookDeliveries::MessageType, 64))
                    .col(string_len(WebhookDeliveries::State, 16))
                    .col(integer(WebhookDeliveries::AttemptsInRun))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(uuid_null(WebhookDeliveries::Lease))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE webhook_deliveries SET (fillfactor = 80)")
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_endpoint_id")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        // Only pending deliveries are ever claimed: a partial index keeps the claim's seek
        // as small as the backlog, however many deliveries are kept.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries \
                 (next_attempt_at) WHERE state = 'pending'",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(uuid(WebhookAttempts::Id).primary_key())
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                    .col(integer_null(WebhookAttempts::Status))
                    .col(integer(WebhookAttempts::DurationMs))
                    .col(text(WebhookAttempts::Response))
                    .col(text_null(WebhookAttempts::Error))
                    .col(string_len(WebhookAttempts::Outcome, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_attempts_delivery_id")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .col(WebhookAttempts::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
