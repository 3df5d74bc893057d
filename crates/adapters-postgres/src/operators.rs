//! [`OperatorAccountStore`] and [`ConsoleSessionStore`]: the console's operators, their
//! backup codes and sessions.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::{console_session, operator_account, operator_backup_code};
use crate::purge::delete_batch;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::operator_account::{
    ConsoleSession, CreateOperatorError, OperatorAccount, OperatorEmail, OperatorRole,
};
use domain::ports::{ConsoleSessionStore, OperatorAccountStore};
use domain::values::{Digest, OperatorId, PasswordHash};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, Set, SqlErr};

impl TryFrom<operator_account::Model> for OperatorAccount {
    type Error = anyhow::Error;

    fn try_from(model: operator_account::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: OperatorId::from_uuid(model.id),
            email: OperatorEmail::parse(&model.email).context("a stored operator e-mail")?,
            role: OperatorRole::parse(&model.role).context("a stored operator role")?,
            password_hash: PasswordHash::from_phc(model.password_hash),
            sealed_totp_secret: model.sealed_totp_secret,
            totp_last_step: model.totp_last_step,
            created_at: model.created_at,
        })
    }
}

impl TryFrom<console_session::Model> for ConsoleSession {
    type Error = anyhow::Error;

    fn try_from(model: console_session::Model) -> anyhow::Result<Self> {
        Ok(Self {
            token_digest: Digest::from_slice(&model.token_digest)
                .context("a stored console session digest")?,
            operator: OperatorId::from_uuid(model.operator_id),
            pending_second_factor: model.pending_second_factor,
            created_at: model.created_at,
            last_seen_at: model.last_seen_at,
            expires_at: model.expires_at,
        })
    }
}

#[async_trait]
impl OperatorAccountStore for SeaOrmStore {
    async fn create(&self, account: &OperatorAccount) -> Result<(), CreateOperatorError> {
        let model = operator_account::ActiveModel {
            id: Set(account.id.as_uuid()),
            email: Set(account.email.as_str().to_owned()),
            role: Set(account.role.as_str().to_owned()),
            password_hash: Set(account.password_hash.as_str().to_owned()),
            sealed_totp_secret: Set(account.sealed_totp_secret.clone()),
            totp_last_step: Set(account.totp_last_step),
            totp_enabled_at: Set(None),
            created_at: Set(account.created_at),
        };
        match operator_account::Entity::insert(model)
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(CreateOperatorError::EmailTaken)
            }
            Err(error) => Err(crate::connection::store_error(error, "creating an operator").into()),
        }
    }

    async fn get(&self, id: OperatorId) -> anyhow::Result<Option<OperatorAccount>> {
        operator_account::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .or_unavailable("finding an operator")?
            .map(OperatorAccount::try_from)
            .transpose()
    }

    async fn find_by_email(
        &self,
        email: &OperatorEmail,
    ) -> anyhow::Result<Option<OperatorAccount>> {
        operator_account::Entity::find()
            .filter(operator_account::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await
            .or_unavailable("finding an operator by e-mail")?
            .map(OperatorAccount::try_from)
            .transpose()
    }

    async fn enable_totp(
        &self,
        id: OperatorId,
        sealed_secret: &[u8],
        backup_codes: &[Digest],
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("starting to set up TOTP")?;
        // Conditional: two set-ups racing, only one secret wins.
        let updated = operator_account::Entity::update_many()
            .col_expr(
                operator_account::Column::SealedTotpSecret,
                Expr::value(sealed_secret.to_vec()),
            )
            .col_expr(operator_account::Column::TotpEnabledAt, Expr::value(at))
            .col_expr(
                operator_account::Column::TotpLastStep,
                Expr::value(Option::<i64>::None),
            )
            .filter(operator_account::Column::Id.eq(id.as_uuid()))
            .filter(operator_account::Column::SealedTotpSecret.is_null())
            .exec(&txn)
            .await
            .or_unavailable("setting up TOTP")?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        operator_backup_code::Entity::delete_many()
            .filter(operator_backup_code::Column::OperatorId.eq(id.as_uuid()))
            .exec(&txn)
            .await
            .or_unavailable("replacing backup codes")?;
        if !backup_codes.is_empty() {
            let rows = backup_codes
                .iter()
                .map(|digest| operator_backup_code::ActiveModel {
                    operator_id: Set(id.as_uuid()),
                    code_digest: Set(digest.as_bytes().to_vec()),
                    used_at: Set(None),
                    created_at: Set(at),
                });
            operator_backup_code::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .or_unavailable("storing backup codes")?;
        }
        txn.commit()
            .await
            .or_unavailable("committing the TOTP set-up")?;
        Ok(true)
    }

    async fn accept_totp_step(&self, id: OperatorId, step: i64) -> anyhow::Result<bool> {
        let updated = operator_account::Entity::update_many()
            .col_expr(operator_account::Column::TotpLastStep, Expr::value(step))
            .filter(operator_account::Column::Id.eq(id.as_uuid()))
            .filter(
                Condition::any()
                    .add(operator_account::Column::TotpLastStep.is_null())
                    .add(operator_account::Column::TotpLastStep.lt(step)),
            )
            .exec(&self.db)
            .await
            .or_unavailable("accepting a TOTP code")?;
        Ok(updated.rows_affected == 1)
    }

    async fn use_backup_code(
        &self,
        id: OperatorId,
        code: &Digest,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let updated = operator_backup_code::Entity::update_many()
            .col_expr(operator_backup_code::Column::UsedAt, Expr::value(at))
            .filter(operator_backup_code::Column::OperatorId.eq(id.as_uuid()))
            .filter(operator_backup_code::Column::CodeDigest.eq(code.as_bytes().to_vec()))
            .filter(operator_backup_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await
            .or_unavailable("using a backup code")?;
        Ok(updated.rows_affected == 1)
    }

    async fn set_password_hash(&self, id: OperatorId, hash: &PasswordHash) -> anyhow::Result<()> {
        operator_account::Entity::update_many()
            .col_expr(
                operator_account::Column::PasswordHash,
                Expr::value(hash.as_str().to_owned()),
            )
            .filter(operator_account::Column::Id.eq(id.as_uuid()))
            .exec(&self.db)
            .await
            .or_unavailable("replacing an operator's password hash")?;
        Ok(())
    }

    async fn unused_backup_codes(&self, id: OperatorId) -> anyhow::Result<u64> {
        operator_backup_code::Entity::find()
            .filter(operator_backup_code::Column::OperatorId.eq(id.as_uuid()))
            .filter(operator_backup_code::Column::UsedAt.is_null())
            .count(&self.db)
            .await
            .or_unavailable("counting backup codes")
    }
}

#[async_trait]
impl ConsoleSessionStore for SeaOrmStore {
    async fn create(&self, session: &ConsoleSession) -> anyhow::Result<()> {
        let model = console_session::ActiveModel {
            token_digest: Set(session.token_digest.as_bytes().to_vec()),
            operator_id: Set(session.operator.as_uuid()),
            pending_second_factor: Set(session.pending_second_factor),
            created_at: Set(session.created_at),
            last_seen_at: Set(session.last_seen_at),
            expires_at: Set(session.expires_at),
        };
        console_session::Entity::insert(model)
            .exec_without_returning(&self.db)
            .await
            .or_unavailable("creating a console session")?;
        Ok(())
    }

    async fn find(&self, token: &Digest) -> anyhow::Result<Option<ConsoleSession>> {
        console_session::Entity::find_by_id(token.as_bytes().to_vec())
            .one(&self.db)
            .await
            .or_unavailable("finding a console session")?
            .map(ConsoleSession::try_from)
            .transpose()
    }

    async fn touch(&self, token: &Digest, at: DateTime<Utc>) -> anyhow::Result<()> {
        console_session::Entity::update_many()
            .col_expr(console_session::Column::LastSeenAt, Expr::value(at))
            .filter(console_session::Column::TokenDigest.eq(token.as_bytes().to_vec()))
            .filter(console_session::Column::LastSeenAt.lt(at))
            .exec(&self.db)
            .await
            .or_unavailable("touching a console session")?;
        Ok(())
    }

    async fn delete(&self, token: &Digest) -> anyhow::Result<bool> {
        let deleted = console_session::Entity::delete_by_id(token.as_bytes().to_vec())
            .exec(&self.db)
            .await
            .or_unavailable("deleting a console session")?;
        Ok(deleted.rows_affected > 0)
    }

    async fn delete_expired(&self, before: DateTime<Utc>, batch: u64) -> anyhow::Result<u64> {
        delete_batch::<console_session::Entity>(
            &self.db,
            &[console_session::Column::TokenDigest],
            console_session::Column::ExpiresAt.lt(before),
            batch,
            "deleting expired console sessions",
        )
        .await
    }
}
