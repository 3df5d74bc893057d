//! Files: what is known of each file an application ships (the bytes are in the blob store,
//! under `blob_key`), and each application's files key, sealed under the master key (made
//! at start for the applications that exist already).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, blob, blob_null, boolean, string_len, timestamp_with_time_zone, uuid,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    SealedFilesKey,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    ApplicationId,
    Name,
    IsPublic,
    IsEncrypted,
    SizeBytes,
    Sha256,
    MimeType,
    BlobKey,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(blob_null(Applications::SealedFilesKey))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(uuid(Files::Id).primary_key())
                    .col(uuid(Files::ApplicationId))
                    .col(string_len(Files::Name, 255))
                    .col(boolean(Files::IsPublic))
                    .col(boolean(Files::IsEncrypted))
                    .col(big_integer(Files::SizeBytes))
                    .col(blob(Files::Sha256))
                    .col(string_len(Files::MimeType, 255))
                    .col(string_len(Files::BlobKey, 128))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .col(timestamp_with_time_zone(Files::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // One name per application; also the index `app_context` lists by.
        manager
            .create_index(
                Index::create()
                    .name("files_application_id_name")
                    .table(Files::Table)
                    .col(Files::ApplicationId)
                    .col(Files::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The admin list, by cursor.
        manager
            .create_index(
                Index::create()
                    .name("files_application_id_id")
                    .table(Files::Table)
                    .col(Files::ApplicationId)
                    .col(Files::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Files::Table).to_owned())
            .await
    }
}
