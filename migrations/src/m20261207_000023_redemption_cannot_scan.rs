//! The overview's `(application, activated_at)` index becomes partial, `WHERE activated_at IS
//! NOT NULL`: it serves the redemption counts and charts (a range on `activated_at` implies
//! the column is not null, on both databases), and it can no longer serve any statement that
//! asks for `activated_at IS NULL`. Whole, it captured the license claim (`… AND activated_at
//! IS NULL`) on a database not yet analysed, which then walked every unused license of the
//! application (issue 21; docs/architecture.md, "Hot paths").
//!
//! The unused licenses get their own partial index, `(application, id) WHERE activated_at IS
//! NULL`, for the overview's capped count and the console's unused filter (keyset by id). It
//! can serve the claim only as a seek on its id, which is as cheap as the primary key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "licenses_application_activated_at";
const UNUSED: &str = "licenses_application_unused";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same SQL on PostgreSQL and SQLite, sent as one script: on SQLite the migrator
        // runs outside a transaction, over a pool of connections.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "DROP INDEX {INDEX}; \
                 CREATE INDEX {INDEX} ON licenses (application_id, activated_at) \
                 WHERE activated_at IS NOT NULL; \
                 CREATE INDEX {UNUSED} ON licenses (application_id, id) \
                 WHERE activated_at IS NULL"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "DROP INDEX {UNUSED}; DROP INDEX {INDEX}; \
                 CREATE INDEX {INDEX} ON licenses (application_id, activated_at)"
            ))
            .await?;
        Ok(())
    }
}
