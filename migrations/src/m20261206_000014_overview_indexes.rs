//! Indexes for the console's overview: each count and each day of the chart is one range
//! read of one of these, stopped at a cap.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    ApplicationId,
    CreatedAt,
    ActiveUntil,
    IsLifetime,
}

#[derive(DeriveIden)]
enum Licenses {
    Table,
    ApplicationId,
    ActivatedAt,
}

const INDEXES: [&str; 4] = [
    "users_application_created_at",
    "users_application_active_until",
    "users_application_is_lifetime",
    "licenses_application_activated_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let indexes = [
            (
                INDEXES[0],
                Users::Table.into_iden(),
                Users::CreatedAt.into_iden(),
            ),
            (
                INDEXES[1],
                Users::Table.into_iden(),
                Users::ActiveUntil.into_iden(),
            ),
            (
                INDEXES[2],
                Users::Table.into_iden(),
                Users::IsLifetime.into_iden(),
            ),
            (
                INDEXES[3],
                Licenses::Table.into_iden(),
                Licenses::ActivatedAt.into_iden(),
            ),
        ];
        for (name, table, column) in indexes {
            let application = if name.starts_with("users") {
                Users::ApplicationId.into_iden()
            } else {
                Licenses::ApplicationId.into_iden()
            };
            let mut index = Index::create();
            index.name(name).table(table).col(application).col(column);
            // Active memberships are `active_until > now AND NOT is_lifetime`: with the flag
            // in the index, the count never reads a row.
            if name == INDEXES[1] {
                index.col(Users::IsLifetime);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (INDEXES[0], Users::Table.into_iden()),
            (INDEXES[1], Users::Table.into_iden()),
            (INDEXES[2], Users::Table.into_iden()),
            (INDEXES[3], Licenses::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
