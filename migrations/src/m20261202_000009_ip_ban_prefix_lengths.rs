//! The prefix lengths each application's IP bans use, so that a ban check probes an address's
//! prefixes of those lengths only (usually 2 to 4 seeks) instead of all 33 (IPv4) or 129
//! (IPv6). A row is added before the first ban of its length and never removed: a length no
//! ban uses any more costs one seek that finds nothing, while removing one could race with a
//! ban being made. At most 33 + 129 rows per application.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, small_integer, uuid};
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IpBanPrefixLengths {
    Table,
    ApplicationId,
    Ipv6,
    PrefixLen,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IpBanPrefixLengths::Table)
                    .col(uuid(IpBanPrefixLengths::ApplicationId))
                    .col(boolean(IpBanPrefixLengths::Ipv6))
                    .col(small_integer(IpBanPrefixLengths::PrefixLen))
                    .primary_key(
                        Index::create()
                            .col(IpBanPrefixLengths::ApplicationId)
                            .col(IpBanPrefixLengths::Ipv6)
                            .col(IpBanPrefixLengths::PrefixLen),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IpBanPrefixLengths::Table, IpBanPrefixLengths::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The lengths of the bans already stored, from their keys: `ip:<range>/<length>`,
        // with colons in the range for IPv6.
        let length = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => {
                "CAST(substr(match_key, instr(match_key, '/') + 1) AS INTEGER)"
            }
            _ => "CAST(split_part(match_key, '/', 2) AS smallint)",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO ip_ban_prefix_lengths (application_id, ipv6, prefix_len) \
                 SELECT DISTINCT application_id, match_key LIKE 'ip:%:%', {length} \
                 FROM bans WHERE kind = 'ip'"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IpBanPrefixLengths::Table).to_owned())
            .await
    }
}
