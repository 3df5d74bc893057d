//! Variables of one user, which the user's program reads and writes, and each application's
//! limit on how many a user may have.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer, string_len, text, timestamp_with_time_zone, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    MaxUserVariables,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UserVariables {
    Table,
    ApplicationId,
    UserId,
    Name,
    Value,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(integer(Applications::MaxUserVariables).default(100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserVariables::Table)
                    .col(uuid(UserVariables::ApplicationId))
                    .col(uuid(UserVariables::UserId))
                    .col(string_len(UserVariables::Name, 64))
                    .col(text(UserVariables::Value))
                    .col(timestamp_with_time_zone(UserVariables::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(UserVariables::UserId)
                            .col(UserVariables::Name),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserVariables::Table, UserVariables::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserVariables::Table).to_owned())
            .await
    }
}
