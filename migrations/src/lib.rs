//! Latchkey's schema as sea-orm migrations. The same migrations run unchanged on PostgreSQL
//! and SQLite: only portable column types, and uniqueness in indexes, not in code.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_tables;
mod m20261126_000002_sessions_and_membership;
mod m20261126_000003_secret_rotation;
mod m20261126_000004_session_expiry_index;
mod m20261202_000005_ban_keys_and_expiry;
mod m20261202_000006_signing;
mod m20261202_000007_anonymous_access;
mod m20261202_000008_user_variables;
mod m20261202_000009_ip_ban_prefix_lengths;
mod m20261202_000010_events;
mod m20261206_000011_webhooks;
mod m20261206_000012_files;
mod m20261206_000013_operator_accounts;
mod m20261206_000014_overview_indexes;
mod m20261206_000015_console_users_and_ledger;
mod m20261206_000016_audit_actor_indexes;
mod m20261206_000020_webhook_fan_out;
mod m20261207_000023_redemption_cannot_scan;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_tables::Migration),
            Box::new(m20261126_000002_sessions_and_membership::Migration),
            Box::new(m20261126_000003_secret_rotation::Migration),
            Box::new(m20261126_000004_session_expiry_index::Migration),
            Box::new(m20261202_000005_ban_keys_and_expiry::Migration),
            Box::new(m20261202_000006_signing::Migration),
            Box::new(m20261202_000007_anonymous_access::Migration),
            Box::new(m20261202_000008_user_variables::Migration),
            Box::new(m20261202_000009_ip_ban_prefix_lengths::Migration),
            Box::new(m20261202_000010_events::Migration),
            Box::new(m20261206_000011_webhooks::Migration),
            Box::new(m20261206_000012_files::Migration),
            Box::new(m20261206_000013_operator_accounts::Migration),
            Box::new(m20261206_000014_overview_indexes::Migration),
            Box::new(m20261206_000015_console_users_and_ledger::Migration),
            Box::new(m20261206_000016_audit_actor_indexes::Migration),
            Box::new(m20261206_000020_webhook_fan_out::Migration),
            Box::new(m20261207_000023_redemption_cannot_scan::Migration),
        ]
    }
}
