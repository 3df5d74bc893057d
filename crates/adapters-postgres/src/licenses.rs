//! [`LicenseStore`], and the single-use redemption that sign-up transactions use.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::license::{self, ActiveModel, Column, Entity};
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::errors::StoreLicensesError;
use domain::license::{License, LicenseDuration, NewLicense};
use domain::ports::LicenseStore;
use domain::values::{ApplicationId, LicenseCode, LicenseId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
};

impl TryFrom<license::Model> for License {
    type Error = anyhow::Error;

    fn try_from(model: license::Model) -> anyhow::Result<Self> {
        let duration = match model.minutes {
            None => LicenseDuration::Lifetime,
            Some(minutes) => {
                LicenseDuration::Minutes(u32::try_from(minutes).context("stored minutes")?)
            }
        };
        Ok(Self {
            id: LicenseId::from_uuid(model.id),
            duration,
            activated_at: model.activated_at,
            activated_by: model.activated_by_user_id.map(UserId::from_uuid),
            created_at: model.created_at,
        })
    }
}

/// Marks the license used in one conditional `UPDATE … WHERE activated_at IS NULL
/// RETURNING …`: the database, not this process, decides which of concurrent callers wins.
pub(crate) async fn redeem<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    code: &LicenseCode,
    user: UserId,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<License>> {
    let updated = Entity::update_many()
        .col_expr(Column::ActivatedAt, Expr::value(at))
        .col_expr(Column::ActivatedByUserId, Expr::value(user.as_uuid()))
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::CodeDigest.eq(code.digest().as_bytes().to_vec()))
        .filter(Column::ActivatedAt.is_null())
        .exec_with_returning(db)
        .await
        .or_unavailable("redeeming a license")?;
    updated
        .into_iter()
        .next()
        .map(License::try_from)
        .transpose()
}

#[async_trait]
impl LicenseStore for SeaOrmStore {
    async fn create_many(
        &self,
        app: ApplicationId,
        licenses: &[NewLicense],
    ) -> Result<Vec<License>, StoreLicensesError> {
        let models = licenses.iter().map(|new| ActiveModel {
            id: Set(new.id.as_uuid()),
            application_id: Set(app.as_uuid()),
            code_digest: Set(new.code.digest().as_bytes().to_vec()),
            minutes: Set(new.duration.minutes().map(i64::from)),
            activated_at: Set(None),
            activated_by_user_id: Set(None),
            created_at: Set(new.created_at),
        });
        let txn = self
            .db
            .begin()
            .await
            .or_unavailable("starting a license batch")?;
        match Entity::insert_many(models)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(StoreLicensesError::DuplicateCode);
            }
            Err(error) => {
                return Err(crate::connection::store_error(error, "inserting licenses").into());
            }
        }
        txn.commit()
            .await
            .or_unavailable("committing a license batch")?;
        Ok(licenses
            .iter()
            .map(|new| License {
                id: new.id,
                duration: new.duration,
                activated_at: None,
                activated_by: None,
                created_at: new.created_at,
            })
            .collect())
    }

    async fn find_by_code(
        &self,
        app: ApplicationId,
        code: &LicenseCode,
    ) -> anyhow::Result<Option<License>> {
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::CodeDigest.eq(code.digest().as_bytes().to_vec()))
            .one(&self.db)
            .await
            .or_unavailable("finding a license by code")?
            .map(License::try_from)
            .transpose()
    }
}
