//! Each application's Ed25519 key pair for signing integration answers: the public key, and
//! the private key sealed under the master key (never in plain form), plus the key before the
//! last rotation while it still signs. Applications made before this get `response_signing`
//! off, since their programs verify nothing yet, and a key pair when the server next starts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{binary_null, boolean, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    ResponseSigning,
    ResponseSigningPublicKey,
    ResponseSigningPrivateKey,
    PreviousResponseSigningPublicKey,
    PreviousResponseSigningPrivateKey,
    PreviousResponseSigningValidUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        let columns = [
            boolean(Applications::ResponseSigning)
                .default(false)
                .to_owned(),
            binary_null(Applications::ResponseSigningPublicKey),
            binary_null(Applications::ResponseSigningPrivateKey),
            binary_null(Applications::PreviousResponseSigningPublicKey),
            binary_null(Applications::PreviousResponseSigningPrivateKey),
            timestamp_with_time_zone_null(Applications::PreviousResponseSigningValidUntil),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Applications::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The columns are nullable or defaulted, and harmless to older code.
        Ok(())
    }
}
