//! The console's operator accounts, their single-use backup codes, and console sessions.
//! Operators span applications, so none of these tables has an `application_id`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, blob, blob_null, boolean, string_len, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OperatorAccounts {
    Table,
    Id,
    Email,
    Role,
    PasswordHash,
    SealedTotpSecret,
    TotpLastStep,
    TotpEnabledAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OperatorBackupCodes {
    Table,
    OperatorId,
    CodeDigest,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    TokenDigest,
    OperatorId,
    PendingSecondFactor,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OperatorAccounts::Table)
                    .col(uuid(OperatorAccounts::Id).primary_key())
                    // Lower-cased by the domain; the unique index makes it the sign-in name.
                    .col(string_len(OperatorAccounts::Email, 254))
                    .col(string_len(OperatorAccounts::Role, 16))
                    .col(string_len(OperatorAccounts::PasswordHash, 255))
                    .col(blob_null(OperatorAccounts::SealedTotpSecret))
                    .col(big_integer_null(OperatorAccounts::TotpLastStep))
                    .col(timestamp_with_time_zone_null(
                        OperatorAccounts::TotpEnabledAt,
                    ))
                    .col(timestamp_with_time_zone(OperatorAccounts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("operator_accounts_email")
                    .table(OperatorAccounts::Table)
                    .col(OperatorAccounts::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OperatorBackupCodes::Table)
                    .col(uuid(OperatorBackupCodes::OperatorId))
                    .col(blob(OperatorBackupCodes::CodeDigest))
                    .col(timestamp_with_time_zone_null(OperatorBackupCodes::UsedAt))
                    .col(timestamp_with_time_zone(OperatorBackupCodes::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(OperatorBackupCodes::OperatorId)
                            .col(OperatorBackupCodes::CodeDigest),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorBackupCodes::Table, OperatorBackupCodes::OperatorId)
                            .to(OperatorAccounts::Table, OperatorAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    // The token's SHA-256: the lookup key, never the token itself.
                    .col(blob(ConsoleSessions::TokenDigest).primary_key())
                    .col(uuid(ConsoleSessions::OperatorId))
                    .col(boolean(ConsoleSessions::PendingSecondFactor))
                    .col(timestamp_with_time_zone(ConsoleSessions::CreatedAt))
                    .col(timestamp_with_time_zone(ConsoleSessions::LastSeenAt))
                    .col(timestamp_with_time_zone(ConsoleSessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ConsoleSessions::Table, ConsoleSessions::OperatorId)
                            .to(OperatorAccounts::Table, OperatorAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The purge of expired sessions.
        manager
            .create_index(
                Index::create()
                    .name("console_sessions_expires_at")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OperatorBackupCodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OperatorAccounts::Table).to_owned())
            .await
    }
}
