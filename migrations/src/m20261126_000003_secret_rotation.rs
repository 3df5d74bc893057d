//! The previous API secret and admin key of an application, valid until a deadline while
//! vendors roll out the new ones.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{binary_len_null, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    PreviousApiSecretDigest,
    PreviousApiSecretExpiresAt,
    PreviousAdminApiKeyDigest,
    PreviousAdminApiKeyExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        let columns = [
            binary_len_null(Applications::PreviousApiSecretDigest, 32),
            timestamp_with_time_zone_null(Applications::PreviousApiSecretExpiresAt),
            binary_len_null(Applications::PreviousAdminApiKeyDigest, 32),
            timestamp_with_time_zone_null(Applications::PreviousAdminApiKeyExpiresAt),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Applications::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The columns are nullable and harmless; dropping columns is not portable to old SQLite.
        Ok(())
    }
}
