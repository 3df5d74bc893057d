//! Indexes for the audit log's actor filter (the console's audit screen and
//! `GET /api/admin/audit?actor=`): by kind (`operator`, `admin_key`, …) or by one actor's id,
//! newest first is a walk down one of these, not a scan of the application's events until
//! enough match. Ids are UUIDv7, so `id` orders by time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    ApplicationId,
    ActorKind,
    ActorId,
    Id,
}

const BY_KIND: &str = "events_application_actor_kind_id";
const BY_ACTOR: &str = "events_application_actor_id_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(BY_KIND)
                    .table(Events::Table)
                    .col(Events::ApplicationId)
                    .col(Events::ActorKind)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_ACTOR)
                    .table(Events::Table)
                    .col(Events::ApplicationId)
                    .col(Events::ActorId)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [BY_KIND, BY_ACTOR] {
            manager
                .drop_index(Index::drop().name(name).table(Events::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}
