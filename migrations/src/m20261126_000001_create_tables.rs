//! Applications, users, licenses, devices and bans.
//!
//! Secrets are stored only as 32-byte SHA-256 digests. IP ban ranges are stored as 17-byte
//! bounds (a family byte, then the address) so that "is this address banned?" is a bytewise
//! range comparison that both databases index and compare the same way.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, binary_len, binary_len_null, boolean, string_len, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    Name,
    DeviceAuthentication,
    ApiKey,
    ApiSecretDigest,
    AdminApiKeyDigest,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    ApplicationId,
    Username,
    UsernameCanonical,
    PasswordHash,
    CredentialType,
    IsLifetime,
    ActiveUntil,
    SignupIp,
    LastIp,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
    ApplicationId,
    CodeDigest,
    Minutes,
    ActivatedAt,
    ActivatedByUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    ApplicationId,
    UserId,
    HardwareId,
    RegisteredAt,
}

#[derive(DeriveIden)]
enum Bans {
    Table,
    Id,
    ApplicationId,
    Kind,
    Value,
    MatchKey,
    IpStart,
    IpEnd,
    Reason,
    CreatedAt,
}

fn belongs_to_application<T: IntoIden>(table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Applications::Table, Applications::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(uuid(Applications::Id).primary_key())
                    .col(text(Applications::Name))
                    .col(boolean(Applications::DeviceAuthentication))
                    .col(string_len(Applications::ApiKey, 64).unique_key())
                    .col(binary_len(Applications::ApiSecretDigest, 32))
                    .col(binary_len(Applications::AdminApiKeyDigest, 32).unique_key())
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(uuid(Users::ApplicationId))
                    .col(text(Users::Username))
                    .col(text(Users::UsernameCanonical))
                    .col(text_null(Users::PasswordHash))
                    .col(string_len(Users::CredentialType, 32))
                    .col(boolean(Users::IsLifetime))
                    .col(timestamp_with_time_zone_null(Users::ActiveUntil))
                    .col(text_null(Users::SignupIp))
                    .col(text_null(Users::LastIp))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .foreign_key(&mut belongs_to_application(
                        Users::Table,
                        Users::ApplicationId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_application_canonical_username")
                    .table(Users::Table)
                    .col(Users::ApplicationId)
                    .col(Users::UsernameCanonical)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Licenses::Table)
                    .col(uuid(Licenses::Id).primary_key())
                    .col(uuid(Licenses::ApplicationId))
                    .col(binary_len(Licenses::CodeDigest, 32))
                    .col(big_integer_null(Licenses::Minutes))
                    .col(timestamp_with_time_zone_null(Licenses::ActivatedAt))
                    .col(uuid_null(Licenses::ActivatedByUserId))
                    .col(timestamp_with_time_zone(Licenses::CreatedAt))
                    .foreign_key(&mut belongs_to_application(
                        Licenses::Table,
                        Licenses::ApplicationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Licenses::Table, Licenses::ActivatedByUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("licenses_application_code_digest")
                    .table(Licenses::Table)
                    .col(Licenses::ApplicationId)
                    .col(Licenses::CodeDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(uuid(Devices::Id).primary_key())
                    .col(uuid(Devices::ApplicationId))
                    .col(uuid(Devices::UserId))
                    .col(text(Devices::HardwareId))
                    .col(timestamp_with_time_zone(Devices::RegisteredAt))
                    .foreign_key(&mut belongs_to_application(
                        Devices::Table,
                        Devices::ApplicationId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Devices::Table, Devices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("devices_user_hardware_id")
                    .table(Devices::Table)
                    .col(Devices::UserId)
                    .col(Devices::HardwareId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Bans::Table)
                    .col(uuid(Bans::Id).primary_key())
                    .col(uuid(Bans::ApplicationId))
                    .col(string_len(Bans::Kind, 16))
                    .col(text(Bans::Value))
                    .col(text_null(Bans::MatchKey))
                    .col(binary_len_null(Bans::IpStart, 17))
                    .col(binary_len_null(Bans::IpEnd, 17))
                    .col(text_null(Bans::Reason))
                    .col(timestamp_with_time_zone(Bans::CreatedAt))
                    .foreign_key(&mut belongs_to_application(
                        Bans::Table,
                        Bans::ApplicationId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("bans_application_kind_match_key")
                    .table(Bans::Table)
                    .col(Bans::ApplicationId)
                    .col(Bans::Kind)
                    .col(Bans::MatchKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("bans_application_ip_start")
                    .table(Bans::Table)
                    .col(Bans::ApplicationId)
                    .col(Bans::IpStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Bans::Table.into_iden(),
            Devices::Table.into_iden(),
            Licenses::Table.into_iden(),
            Users::Table.into_iden(),
            Applications::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
