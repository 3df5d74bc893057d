//! For the console's user screens: a reason on membership adjustments (a bulk adjustment's),
//! the ledger read newest first by (user, id), and, on PostgreSQL, the prefix search of
//! canonical usernames by code point (`COLLATE "C"`: a linguistic collation's order is not
//! a prefix's range). SQLite compares text by bytes already, so its existing unique index on
//! (application, canonical username) serves the search.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MembershipAdjustments {
    Table,
    UserId,
    Id,
    Reason,
}

const LEDGER_INDEX: &str = "membership_adjustments_user_id";
const SEARCH_INDEX: &str = "users_application_username_c";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MembershipAdjustments::Table)
                    .add_column(ColumnDef::new(MembershipAdjustments::Reason).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(LEDGER_INDEX)
                    .table(MembershipAdjustments::Table)
                    .col(MembershipAdjustments::UserId)
                    .col(MembershipAdjustments::Id)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    r#"CREATE INDEX {SEARCH_INDEX} ON users (application_id, (username_canonical COLLATE "C"))"#
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX {SEARCH_INDEX}"))
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name(LEDGER_INDEX)
                    .table(MembershipAdjustments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MembershipAdjustments::Table)
                    .drop_column(MembershipAdjustments::Reason)
                    .to_owned(),
            )
            .await
    }
}
