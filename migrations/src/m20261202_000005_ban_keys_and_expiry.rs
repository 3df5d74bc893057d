//! Bans found by exact keys, bans that expire, and the indexes that page lists by cursor.
//!
//! Every ban gets one `match_key`, prefixed by its kind: `ip:203.0.113.0/24`,
//! `hardware_id:<id>`, `license:<uuid>`, `user:<uuid>`. An IP ban's key is its CIDR prefix,
//! so "is this address banned?" probes the address's own 33 (IPv4) or 129 (IPv6) prefixes,
//! each one index seek, however many bans there are. The range bounds this replaces needed a
//! scan of every ban starting below the address. A unique index on the key makes a second
//! ban of one value impossible; duplicates made before it are folded into the oldest.
//!
//! `subject_id` holds the license's or user's id of such bans, so a license list can ask
//! "banned?" with a join. `expires_at` is null for a ban that never expires.
//!
//! Users, licenses and bans get an (application, id) index: ids are UUIDv7, so it orders
//! rows by creation, and a cursor page is one seek and a short walk.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{timestamp_with_time_zone_null, uuid_null};
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Bans {
    Table,
    Id,
    ApplicationId,
    Kind,
    MatchKey,
    SubjectId,
    ExpiresAt,
    IpStart,
    IpEnd,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    ApplicationId,
}

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
    ApplicationId,
}

/// The new key of every existing ban, from what the old schema stored: an IP ban's `value`
/// is its canonical range, written without a prefix length when it holds one address.
const REKEY: &str = "UPDATE bans SET match_key = CASE kind \
     WHEN 'ip' THEN 'ip:' || CASE \
         WHEN value LIKE '%/%' THEN value \
         WHEN value LIKE '%:%' THEN value || '/128' \
         ELSE value || '/32' END \
     ELSE kind || ':' || match_key END";

/// Folds duplicate bans of one value into the oldest, before the unique index forbids them.
const FOLD_DUPLICATES: &str = "DELETE FROM bans WHERE EXISTS (SELECT 1 FROM bans AS older \
     WHERE older.application_id = bans.application_id AND older.match_key = bans.match_key \
     AND (older.created_at < bans.created_at \
          OR (older.created_at = bans.created_at AND older.id < bans.id)))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            timestamp_with_time_zone_null(Bans::ExpiresAt),
            uuid_null(Bans::SubjectId),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Bans::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        // The subject's id from the old key, which was its hyphenated text; SQLite stores
        // UUIDs as 16-byte blobs.
        let subject_id = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => "unhex(replace(match_key, '-', ''))",
            _ => "CAST(match_key AS uuid)",
        };
        db.execute_unprepared(&format!(
            "UPDATE bans SET subject_id = {subject_id} WHERE kind IN ('license', 'user')"
        ))
        .await?;
        db.execute_unprepared(REKEY).await?;
        db.execute_unprepared(FOLD_DUPLICATES).await?;

        for index in [
            "bans_application_kind_match_key",
            "bans_application_ip_start",
        ] {
            manager
                .drop_index(Index::drop().name(index).table(Bans::Table).to_owned())
                .await?;
        }
        for column in [Bans::IpStart, Bans::IpEnd] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Bans::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }

        let indexes = [
            Index::create()
                .name("bans_application_match_key")
                .table(Bans::Table)
                .col(Bans::ApplicationId)
                .col(Bans::MatchKey)
                .unique()
                .to_owned(),
            Index::create()
                .name("bans_application_id")
                .table(Bans::Table)
                .col(Bans::ApplicationId)
                .col(Bans::Id)
                .to_owned(),
            Index::create()
                .name("bans_application_kind_id")
                .table(Bans::Table)
                .col(Bans::ApplicationId)
                .col(Bans::Kind)
                .col(Bans::Id)
                .to_owned(),
            Index::create()
                .name("bans_application_subject_id")
                .table(Bans::Table)
                .col(Bans::ApplicationId)
                .col(Bans::SubjectId)
                .to_owned(),
            Index::create()
                .name("bans_expires_at")
                .table(Bans::Table)
                .col(Bans::ExpiresAt)
                .to_owned(),
            Index::create()
                .name("users_application_id")
                .table(Users::Table)
                .col(Users::ApplicationId)
                .col(Users::Id)
                .to_owned(),
            Index::create()
                .name("licenses_application_id")
                .table(Licenses::Table)
                .col(Licenses::ApplicationId)
                .col(Licenses::Id)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Rebuilding range bounds from keys is not worth a down migration: restore a backup.
        Err(DbErr::Migration(
            "m20261202_000005 cannot be reverted; restore a backup taken before it".into(),
        ))
    }
}
