//! Anonymous access: an application may let callers without a session read its public
//! variables. Legacy auth: it may let calls carry the user's credentials instead of a
//! session. All are off for what exists already.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    AnonymousAccess,
    LegacyAuth,
}

#[derive(DeriveIden)]
enum ApplicationVariables {
    Table,
    IsPublic,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(boolean(Applications::AnonymousAccess).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Applications::Table)
                    .add_column(boolean(Applications::LegacyAuth).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApplicationVariables::Table)
                    .add_column(boolean(ApplicationVariables::IsPublic).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The columns are defaulted, and harmless to older code.
        Ok(())
    }
}
