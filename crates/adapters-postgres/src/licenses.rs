//! [`LicenseStore`], and the single-use redemption that sign-up transactions use.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::ban;
use crate::entities::license::{self, ActiveModel, Column, Entity};
use crate::pages::keyset;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ban::BanKind;
use domain::errors::StoreLicensesError;
use domain::event::Event;
use domain::license::{License, LicenseDetails, LicenseDuration, LicenseFilter, NewLicense};
use domain::page::{Page, PageRequest};
use domain::ports::LicenseStore;
use domain::values::{ApplicationId, LicenseCode, LicenseId, UserId};
use sea_orm::sea_query::{Condition, Expr, Query, SelectStatement, UpdateStatement};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait as _, Select, Set, SqlErr,
};
use std::collections::HashSet;
use uuid::Uuid;

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

/// The claim of a license: one conditional `UPDATE … WHERE id = … AND activated_at IS NULL`
/// by primary key (the id was found through the unique (application, code digest) index), so
/// the database, not this process, decides which of concurrent claims wins, and no index but
/// the primary key's can serve it (docs/architecture.md, "Hot paths"). It returns the id,
/// for the statement that makes the rest of a sign-up conditional on it.
pub(crate) fn claim_statement(
    app: ApplicationId,
    license: LicenseId,
    user: UserId,
    at: DateTime<Utc>,
) -> UpdateStatement {
    let mut update = Entity::update_many()
        .col_expr(Column::ActivatedAt, Expr::value(at))
        .col_expr(Column::ActivatedByUserId, Expr::value(user.as_uuid()))
        .filter(Column::Id.eq(license.as_uuid()))
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::ActivatedAt.is_null())
        .into_query();
    update.returning_col(Column::Id);
    update
}

/// The application's license bans in force at `now`.
fn license_bans_in_force(app: ApplicationId, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(ban::Column::ApplicationId.eq(app.as_uuid()))
        .add(ban::Column::Kind.eq(BanKind::License.as_str()))
        .add(ban::Column::SubjectId.is_not_null())
        .add(
            Condition::any()
                .add(ban::Column::ExpiresAt.is_null())
                .add(ban::Column::ExpiresAt.gt(now)),
        )
}

/// The ids of the licenses those bans name.
fn banned_license_ids(app: ApplicationId, now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .column(ban::Column::SubjectId)
        .from(ban::Entity)
        .cond_where(license_bans_in_force(app, now))
        .to_owned()
}

fn filtered(app: ApplicationId, filter: &LicenseFilter) -> Select<Entity> {
    let mut select = Entity::find().filter(Column::ApplicationId.eq(app.as_uuid()));
    if let Some(code) = &filter.code {
        select = select.filter(Column::CodeDigest.eq(code.digest().as_bytes().to_vec()));
    }
    match filter.used {
        Some(true) => select = select.filter(Column::ActivatedAt.is_not_null()),
        Some(false) => select = select.filter(Column::ActivatedAt.is_null()),
        None => {}
    }
    if let Some(since) = filter.created_since {
        select = select.filter(Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.created_until {
        select = select.filter(Column::CreatedAt.lt(until));
    }
    match filter.banned {
        Some(true) => select.filter(Column::Id.in_subquery(banned_license_ids(app, filter.now))),
        Some(false) => {
            select.filter(Column::Id.not_in_subquery(banned_license_ids(app, filter.now)))
        }
        None => select,
    }
}

impl SeaOrmStore {
    /// Which of `ids` a ban in force names: one query on the (application, subject) index.
    async fn banned_among(
        &self,
        app: ApplicationId,
        ids: Vec<Uuid>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<HashSet<Uuid>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let banned: Vec<Option<Uuid>> = ban::Entity::find()
            .select_only()
            .column(ban::Column::SubjectId)
            .filter(license_bans_in_force(app, now))
            .filter(ban::Column::SubjectId.is_in(ids))
            .into_tuple()
            .all(&self.db)
            .await
            .or_unavailable("finding banned licenses")?;
        Ok(banned.into_iter().flatten().collect())
    }
}

#[async_trait]
impl LicenseStore for SeaOrmStore {
    async fn create_many(
        &self,
        app: ApplicationId,
        licenses: &[NewLicense],
        events: &[Event],
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
        let txn = crate::connection::begin_write(&self.db)
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
        let queued = crate::events::record(&txn, &self.endpoints, events).await?;
        txn.commit()
            .await
            .or_unavailable("committing a license batch")?;
        self.committed(queued);
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

    async fn get_many(
        &self,
        app: ApplicationId,
        ids: &[LicenseId],
    ) -> anyhow::Result<Vec<License>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await
            .or_unavailable("reading licenses by id")?
            .into_iter()
            .map(License::try_from)
            .collect()
    }

    async fn delete_unused(
        &self,
        app: ApplicationId,
        id: LicenseId,
        events: &[Event],
    ) -> anyhow::Result<bool> {
        let deleted = self
            .change_with_events(events, "deleting a license", async |txn| {
                // One conditional statement: a redemption racing it either went first (the
                // license is used and stays) or finds no license.
                let result = Entity::delete_many()
                    .filter(Column::ApplicationId.eq(app.as_uuid()))
                    .filter(Column::Id.eq(id.as_uuid()))
                    .filter(Column::ActivatedAt.is_null())
                    .exec(txn)
                    .await
                    .or_unavailable("deleting a license")?;
                Ok((result.rows_affected > 0).then_some(()))
            })
            .await?;
        Ok(deleted.is_some())
    }

    async fn list(
        &self,
        app: ApplicationId,
        filter: &LicenseFilter,
        page: &PageRequest,
    ) -> anyhow::Result<Page<LicenseDetails>> {
        let rows = keyset(filtered(app, filter), Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing licenses")?;
        let page = Page::from_rows(rows, page, |row| row.id).try_map(License::try_from)?;
        let ids = page
            .items
            .iter()
            .map(|license| license.id.as_uuid())
            .collect();
        let banned = self.banned_among(app, ids, filter.now).await?;
        Ok(page.map(|license| LicenseDetails {
            is_banned: banned.contains(&license.id.as_uuid()),
            license,
        }))
    }
}
