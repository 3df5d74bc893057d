//! [`BanStore`]: bans, each stored under its one match key, and the check of all of a
//! request's identifiers as one query on the unique (application, match key) index. Beside
//! the bans, the prefix lengths of each application's IP bans.

use crate::SeaOrmStore;
use crate::connection::{DbResultExt as _, raw_statement};
use crate::entities::ban::{self, ActiveModel, Column, Entity};
use crate::entities::ip_ban_prefix_length;
use crate::pages::keyset;
use crate::purge::delete_batch;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ban::{
    Ban, BanFilter, BanKind, BanProbe, BanTarget, IpPrefixLengths, NewBan, StoredBan,
};
use domain::event::Event;
use domain::page::{Page, PageRequest};
use domain::ports::BanStore;
use domain::values::{
    ApplicationId, BanId, HardwareId, IpBanRange, LicenseId, PrefixLength, UserId,
};
use sea_orm::sea_query::{Condition, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Set, Statement,
};
use uuid::Uuid;

impl TryFrom<ban::Model> for Ban {
    type Error = anyhow::Error;

    fn try_from(model: ban::Model) -> anyhow::Result<Self> {
        let id =
            || -> anyhow::Result<Uuid> { Uuid::parse_str(&model.value).context("stored ban id") };
        let target = match BanKind::parse(&model.kind) {
            Some(BanKind::Ip) => {
                BanTarget::Ip(IpBanRange::parse(&model.value).context("stored ip range")?)
            }
            Some(BanKind::HardwareId) => BanTarget::HardwareId(
                HardwareId::parse(&model.value).context("stored hardware id")?,
            ),
            Some(BanKind::License) => BanTarget::License(LicenseId::from_uuid(id()?)),
            Some(BanKind::User) => BanTarget::User(UserId::from_uuid(id()?)),
            None => anyhow::bail!("unknown ban kind {:?}", model.kind),
        };
        Ok(Self {
            id: BanId::from_uuid(model.id),
            target,
            reason: model.reason,
            created_at: model.created_at,
            expires_at: model.expires_at,
        })
    }
}

/// PostgreSQL's ban check: one lookup on the unique (application, match key) index per key.
///
/// The plain `application_id = $1 AND match_key IN (…)` is captured on a never-analysed
/// database: without statistics the planner guesses the application's condition keeps 0.5% of
/// the rows, so any index led by `application_id` looks cheaper than one descent per key, and
/// every check read all of the application's bans. Here each key's subquery names both columns
/// of the unique index, so the planner knows it yields at most one row: the index it was made
/// for, whatever the statistics say (a table of a few pages may still be read whole, which is
/// cheaper). SQLite's planner takes the unique index for the `IN` form, so it keeps that.
fn ban_check_by_key(app: ApplicationId, keys: Vec<String>, now: DateTime<Utc>) -> Statement {
    let placeholders = (3..3 + keys.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT b.kind FROM unnest(ARRAY[{placeholders}]::text[]) AS k(match_key) \
         CROSS JOIN LATERAL (SELECT \"kind\" FROM \"bans\" \
             WHERE \"application_id\" = $1 AND \"match_key\" = k.match_key \
                 AND (\"expires_at\" IS NULL OR \"expires_at\" > $2) LIMIT 1) AS b \
         LIMIT 1"
    );
    let mut values: Vec<sea_orm::Value> = vec![app.as_uuid().into(), now.into()];
    values.extend(keys.into_iter().map(sea_orm::Value::from));
    raw_statement(DbBackend::Postgres, &sql, values)
}

/// Bans in force at `now`: a ban stops matching at the instant it expires.
fn in_force(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::ExpiresAt.is_null())
        .add(Column::ExpiresAt.gt(now))
}

fn row(app: ApplicationId, ban: &NewBan) -> ActiveModel {
    ActiveModel {
        id: Set(ban.id.as_uuid()),
        application_id: Set(app.as_uuid()),
        kind: Set(ban.target.kind().as_str().to_owned()),
        value: Set(ban.target.value()),
        match_key: Set(Some(ban.target.match_key())),
        subject_id: Set(ban.target.subject_id()),
        reason: Set(ban.reason.clone()),
        created_at: Set(ban.created_at),
        expires_at: Set(ban.expires_at),
    }
}

/// How often [`BanStore::create`] retries when the ban in its way changes under it (replaced
/// or purged by another caller); each retry means another caller made progress.
const CREATE_ATTEMPTS: usize = 4;

async fn find_by_key(
    db: &impl ConnectionTrait,
    app: ApplicationId,
    key: &str,
) -> anyhow::Result<Option<Ban>> {
    Entity::find()
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::MatchKey.eq(key))
        .one(db)
        .await
        .or_unavailable("finding a ban by its key")?
        .map(Ban::try_from)
        .transpose()
}

/// Puts `ban` in the place of the expired ban `old`; `false` when `old` changed first.
async fn replace_expired(
    db: &impl ConnectionTrait,
    app: ApplicationId,
    old: &Ban,
    ban: &NewBan,
) -> anyhow::Result<bool> {
    let mut replacement = row(app, ban);
    replacement.application_id = sea_orm::ActiveValue::NotSet;
    let replaced = Entity::update_many()
        .set(replacement)
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::Id.eq(old.id.as_uuid()))
        .filter(Column::ExpiresAt.lte(ban.created_at))
        .exec(db)
        .await
        .or_unavailable("replacing an expired ban")?;
    Ok(replaced.rows_affected == 1)
}

/// What one attempt to store a ban found.
enum Attempt {
    Stored,
    Existing(Ban),
    /// The ban in the way changed under it: try again.
    Raced,
}

/// One attempt, in `txn`: insert, or replace the target's expired ban.
async fn store_once(
    txn: &DatabaseTransaction,
    app: ApplicationId,
    ban: &NewBan,
    key: &str,
) -> anyhow::Result<Attempt> {
    // The unique (application, match key) index decides between concurrent callers.
    let inserted = Entity::insert(row(app, ban))
        .on_conflict(
            OnConflict::columns([Column::ApplicationId, Column::MatchKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await
        .or_unavailable("inserting a ban")?;
    if inserted == 1 {
        return Ok(Attempt::Stored);
    }
    // Purged since the insert met it: insert again.
    let Some(existing) = find_by_key(txn, app, key).await? else {
        return Ok(Attempt::Raced);
    };
    if existing.is_active_at(ban.created_at) {
        return Ok(Attempt::Existing(existing));
    }
    Ok(if replace_expired(txn, app, &existing, ban).await? {
        Attempt::Stored
    } else {
        Attempt::Raced
    })
}

impl SeaOrmStore {
    /// Records that the application bans a range of `range`'s length. It comes before the
    /// ban, so whoever finds the ban finds its length.
    async fn note_prefix_length(
        &self,
        app: ApplicationId,
        range: &IpBanRange,
    ) -> anyhow::Result<()> {
        let length = range.prefix_length();
        let row = ip_ban_prefix_length::ActiveModel {
            application_id: Set(app.as_uuid()),
            ipv6: Set(length.ipv6),
            prefix_len: Set(i16::from(length.len)),
        };
        ip_ban_prefix_length::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    ip_ban_prefix_length::Column::ApplicationId,
                    ip_ban_prefix_length::Column::Ipv6,
                    ip_ban_prefix_length::Column::PrefixLen,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .or_unavailable("noting an ip ban's prefix length")?;
        Ok(())
    }
}

#[async_trait]
impl BanStore for SeaOrmStore {
    async fn create(
        &self,
        app: ApplicationId,
        ban: &NewBan,
        events: &[Event],
    ) -> anyhow::Result<StoredBan> {
        if let BanTarget::Ip(range) = &ban.target {
            self.note_prefix_length(app, range).await?;
        }
        let key = ban.target.match_key();
        for _ in 0..CREATE_ATTEMPTS {
            // Each attempt in a transaction of its own, with the ban's events when it stores.
            let txn = crate::connection::begin_write(&self.db)
                .await
                .or_unavailable("storing a ban")?;
            match store_once(&txn, app, ban, &key).await? {
                Attempt::Stored => {
                    let queued = crate::events::record(&txn, &self.endpoints, events).await?;
                    txn.commit().await.or_unavailable("storing a ban")?;
                    self.committed(queued);
                    return Ok(StoredBan::Created(ban.created()));
                }
                Attempt::Existing(existing) => return Ok(StoredBan::Existing(existing)),
                Attempt::Raced => {}
            }
        }
        anyhow::bail!("a ban kept changing under {CREATE_ATTEMPTS} attempts to store another")
    }

    async fn list(
        &self,
        app: ApplicationId,
        filter: &BanFilter,
        page: &PageRequest,
    ) -> anyhow::Result<Page<Ban>> {
        let mut select = Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(in_force(filter.now));
        if let Some(kind) = filter.kind {
            select = select.filter(Column::Kind.eq(kind.as_str()));
        }
        if let Some(keys) = &filter.match_keys {
            if keys.is_empty() {
                return Ok(Page {
                    items: vec![],
                    next: None,
                });
            }
            select = select.filter(Column::MatchKey.is_in(keys.clone()));
        }
        let rows = keyset(select, Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing bans")?;
        Page::from_rows(rows, page, |row| row.id).try_map(Ban::try_from)
    }

    async fn delete(
        &self,
        app: ApplicationId,
        id: BanId,
        events: &[Event],
    ) -> anyhow::Result<bool> {
        let deleted = self
            .change_with_events(events, "deleting a ban", async |txn| {
                let result = Entity::delete_many()
                    .filter(Column::ApplicationId.eq(app.as_uuid()))
                    .filter(Column::Id.eq(id.as_uuid()))
                    .exec(txn)
                    .await
                    .or_unavailable("deleting a ban")?;
                Ok((result.rows_affected > 0).then_some(()))
            })
            .await?;
        Ok(deleted.is_some())
    }

    async fn ip_prefix_lengths(&self, app: ApplicationId) -> anyhow::Result<IpPrefixLengths> {
        let rows: Vec<(bool, i16)> = ip_ban_prefix_length::Entity::find()
            .select_only()
            .column(ip_ban_prefix_length::Column::Ipv6)
            .column(ip_ban_prefix_length::Column::PrefixLen)
            .filter(ip_ban_prefix_length::Column::ApplicationId.eq(app.as_uuid()))
            .into_tuple()
            .all(&self.db)
            .await
            .or_unavailable("reading ip ban prefix lengths")?;
        rows.into_iter()
            .map(|(ipv6, len)| {
                let len = u8::try_from(len).context("stored prefix length")?;
                Ok(PrefixLength { ipv6, len })
            })
            .collect()
    }

    async fn find_ban(
        &self,
        app: ApplicationId,
        probe: &BanProbe,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BanKind>> {
        let keys = probe.match_keys();
        if keys.is_empty() {
            return Ok(None);
        }
        let kind: Option<String> = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let row = self
                    .db
                    .query_one_raw(ban_check_by_key(app, keys, now))
                    .await
                    .or_unavailable("checking bans")?;
                row.map(|row| row.try_get::<String>("", "kind"))
                    .transpose()
                    .or_unavailable("reading the ban check")?
            }
            _ => Entity::find()
                .select_only()
                .column(Column::Kind)
                .filter(Column::ApplicationId.eq(app.as_uuid()))
                .filter(Column::MatchKey.is_in(keys))
                .filter(in_force(now))
                .into_tuple()
                .one(&self.db)
                .await
                .or_unavailable("checking bans")?,
        };
        kind.map(|kind| BanKind::parse(&kind).context("stored ban kind"))
            .transpose()
    }

    async fn delete_expired(&self, now: DateTime<Utc>, batch: u64) -> anyhow::Result<u64> {
        let expired = Column::ExpiresAt.lte(now);
        delete_batch::<Entity>(
            &self.db,
            &[Column::Id],
            expired,
            batch,
            "deleting expired bans",
        )
        .await
    }
}
