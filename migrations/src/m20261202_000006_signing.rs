//! Signing. Each application's Ed25519 key pair for signing integration answers: the public
//! key, and the private key sealed under the master key (never in plain form), plus the key
//! before the last rotation while it still signs. Applications made before this get
//! `response_signing` off, since their programs verify nothing yet, and a key pair when the
//! server next starts. For signed requests: the public keys they are checked against (the
//! private halves are the vendor's), and the nonces already used, each kept until the
//! request it came with could no longer be accepted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    binary_null, boolean, string_len, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    ResponseSigning,
    ResponseSigningPublicKey,
    ResponseSigningPrivateKey,
    PreviousResponseSigningPublicKey,
    PreviousResponseSigningPrivateKey,
    PreviousResponseSigningValidUntil,
    RequestSigning,
    RequestSigningPublicKey,
    PreviousRequestSigningPublicKey,
    PreviousRequestSigningValidUntil,
}

#[derive(DeriveIden)]
enum RequestNonces {
    Table,
    ApplicationId,
    Nonce,
    ExpiresAt,
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
            boolean(Applications::RequestSigning)
                .default(false)
                .to_owned(),
            binary_null(Applications::RequestSigningPublicKey),
            binary_null(Applications::PreviousRequestSigningPublicKey),
            timestamp_with_time_zone_null(Applications::PreviousRequestSigningValidUntil),
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
        manager
            .create_table(
                Table::create()
                    .table(RequestNonces::Table)
                    .col(uuid(RequestNonces::ApplicationId))
                    .col(string_len(RequestNonces::Nonce, 128))
                    .col(timestamp_with_time_zone(RequestNonces::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(RequestNonces::ApplicationId)
                            .col(RequestNonces::Nonce),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RequestNonces::Table, RequestNonces::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("request_nonces_expires_at")
                    .table(RequestNonces::Table)
                    .col(RequestNonces::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The application columns are nullable or defaulted, and harmless to older code.
        manager
            .drop_table(Table::drop().table(RequestNonces::Table).to_owned())
            .await
    }
}
