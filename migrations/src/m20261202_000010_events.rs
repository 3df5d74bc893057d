//! Events: one row per state change, written in the change's own transaction. They are the
//! audit log, and what webhooks deliver.
//!
//! Rows are never changed, and deleted only by the retention purge. On PostgreSQL a trigger
//! enforces it: `UPDATE`, `TRUNCATE`, and a `DELETE` outside a transaction that set
//! `latchkey.audit_purge` to `on` (the purge's `SET LOCAL`) fail. It guards against a bug in
//! the code, not against a database owner, who can drop the trigger.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    string_len, string_len_null, text, timestamp_with_time_zone, uuid,
};
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    ApplicationId,
    EventType,
    ActorKind,
    ActorId,
    TargetKind,
    TargetId,
    ClientIp,
    UserAgent,
    RequestId,
    Summary,
    OccurredAt,
}

const APPEND_ONLY: [&str; 3] = [
    "CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
         IF TG_OP = 'DELETE' AND current_setting('latchkey.audit_purge', true) = 'on' THEN \
             RETURN OLD; \
         END IF; \
         RAISE EXCEPTION 'events are append-only: % refused', TG_OP \
             USING ERRCODE = 'insufficient_privilege'; \
     END $$",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events \
     FOR EACH ROW EXECUTE FUNCTION events_are_append_only()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events \
     FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(uuid(Events::Id).primary_key())
                    .col(uuid(Events::ApplicationId))
                    .col(string_len(Events::EventType, 64))
                    .col(string_len(Events::ActorKind, 16))
                    .col(string_len_null(Events::ActorId, 64))
                    .col(string_len(Events::TargetKind, 32))
                    .col(uuid(Events::TargetId))
                    .col(string_len_null(Events::ClientIp, 45))
                    .col(string_len_null(Events::UserAgent, 256))
                    .col(string_len_null(Events::RequestId, 128))
                    .col(text(Events::Summary))
                    .col(timestamp_with_time_zone(Events::OccurredAt))
                    .to_owned(),
            )
            .await?;
        // Ids are UUIDv7, ordered by time: newest first is a walk down (application, id).
        let indexes = [
            (
                "events_application_id",
                vec![Events::ApplicationId, Events::Id],
            ),
            (
                "events_application_type_id",
                vec![Events::ApplicationId, Events::EventType, Events::Id],
            ),
            (
                "events_application_target_id",
                vec![Events::ApplicationId, Events::TargetId, Events::Id],
            ),
            ("events_occurred_at", vec![Events::OccurredAt]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(Events::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            for statement in APPEND_ONLY {
                manager
                    .get_connection()
                    .execute_unprepared(statement)
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION events_are_append_only()")
                .await?;
        }
        Ok(())
    }
}
