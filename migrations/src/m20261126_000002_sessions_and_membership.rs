//! Sign-in sessions, the membership ledger, application variables, and the device and
//! session limits of applications and users.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, binary_len, boolean, integer_null, string_len, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    AllowedNumberOfDevices,
    AllowedNumberOfSimultaneousSessions,
    SessionLifetimeSeconds,
    CrossBanning,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AllowedNumberOfDevices,
    AllowedNumberOfSimultaneousSessions,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    ApplicationId,
    UserId,
    DeviceId,
    TokenDigest,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum MembershipAdjustments {
    Table,
    Id,
    ApplicationId,
    UserId,
    Kind,
    OccurredAt,
    Minutes,
    GrantsLifetimeAccess,
    RevokesLifetimeAccess,
    LicenseId,
}

#[derive(DeriveIden)]
enum ApplicationVariables {
    Table,
    Id,
    ApplicationId,
    Name,
    Value,
    CreatedAt,
}

/// SQLite takes one column per `ALTER TABLE`.
async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

fn cascade_to<T: IntoIden, C: IntoIden>(
    from: (Sessions, Sessions),
    to: (T, C),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let defaults = [
            (Applications::AllowedNumberOfDevices, 1),
            (Applications::AllowedNumberOfSimultaneousSessions, 1),
            (Applications::SessionLifetimeSeconds, 300),
        ];
        for (column, default) in defaults {
            add_column(
                manager,
                Applications::Table,
                ColumnDef::new(column)
                    .integer()
                    .not_null()
                    .default(default)
                    .to_owned(),
            )
            .await?;
        }
        add_column(
            manager,
            Applications::Table,
            boolean(Applications::CrossBanning).default(true).to_owned(),
        )
        .await?;
        add_column(
            manager,
            Users::Table,
            integer_null(Users::AllowedNumberOfDevices),
        )
        .await?;
        add_column(
            manager,
            Users::Table,
            integer_null(Users::AllowedNumberOfSimultaneousSessions),
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(uuid(Sessions::Id).primary_key())
                    .col(uuid(Sessions::ApplicationId))
                    .col(uuid(Sessions::UserId))
                    .col(uuid_null(Sessions::DeviceId))
                    .col(binary_len(Sessions::TokenDigest, 32).unique_key())
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .foreign_key(&mut cascade_to(
                        (Sessions::Table, Sessions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade_to(
                        (Sessions::Table, Sessions::DeviceId),
                        (Devices::Table, Devices::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_user_expires_at")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .col(Sessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MembershipAdjustments::Table)
                    .col(uuid(MembershipAdjustments::Id).primary_key())
                    .col(uuid(MembershipAdjustments::ApplicationId))
                    .col(uuid(MembershipAdjustments::UserId))
                    .col(string_len(MembershipAdjustments::Kind, 16))
                    .col(timestamp_with_time_zone(MembershipAdjustments::OccurredAt))
                    .col(big_integer(MembershipAdjustments::Minutes))
                    .col(boolean(MembershipAdjustments::GrantsLifetimeAccess))
                    .col(boolean(MembershipAdjustments::RevokesLifetimeAccess))
                    .col(uuid_null(MembershipAdjustments::LicenseId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MembershipAdjustments::Table, MembershipAdjustments::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                MembershipAdjustments::Table,
                                MembershipAdjustments::LicenseId,
                            )
                            .to(Licenses::Table, Licenses::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("membership_adjustments_user")
                    .table(MembershipAdjustments::Table)
                    .col(MembershipAdjustments::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApplicationVariables::Table)
                    .col(uuid(ApplicationVariables::Id).primary_key())
                    .col(uuid(ApplicationVariables::ApplicationId))
                    .col(string_len(ApplicationVariables::Name, 64))
                    .col(text(ApplicationVariables::Value))
                    .col(timestamp_with_time_zone(ApplicationVariables::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ApplicationVariables::Table,
                                ApplicationVariables::ApplicationId,
                            )
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("application_variables_name")
                    .table(ApplicationVariables::Table)
                    .col(ApplicationVariables::ApplicationId)
                    .col(ApplicationVariables::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApplicationVariables::Table.into_iden(),
            MembershipAdjustments::Table.into_iden(),
            Sessions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
