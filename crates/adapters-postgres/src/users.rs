//! [`UserStore`], and the insert that sign-up transactions use.

use crate::SeaOrmStore;
use crate::applications::{count, stored_count};
use crate::connection::DbResultExt as _;
use crate::entities::adjustment as adjustment_entity;
use crate::entities::user::{self, ActiveModel, Column, Entity};
use crate::pages::keyset;
use anyhow::Context as _;
use async_trait::async_trait;
use domain::event::Event;
use domain::page::{Page, PageRequest};
use domain::ports::UserStore;
use domain::user::{Adjustment, AdjustmentKind, Credential, Membership, NewUser, User, UserLimits};
use domain::values::{
    AdjustmentId, ApplicationId, ClientIp, LicenseId, PasswordHash, UserId, Username,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, InsertStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait as _, Set,
};

const PASSWORD: &str = "username_password";
const LICENSE_CODE: &str = "license_code";

impl TryFrom<user::Model> for User {
    type Error = anyhow::Error;

    fn try_from(model: user::Model) -> anyhow::Result<Self> {
        let credential = match model.credential_type.as_str() {
            PASSWORD => Credential::Password(PasswordHash::from_phc(
                model
                    .password_hash
                    .context("a password user without a hash")?,
            )),
            LICENSE_CODE => Credential::LicenseCode,
            other => anyhow::bail!("unknown credential type {other:?}"),
        };
        let ip = |stored: Option<String>| -> anyhow::Result<Option<ClientIp>> {
            stored
                .map(|ip| ClientIp::parse(&ip).context("stored ip"))
                .transpose()
        };
        Ok(Self {
            id: UserId::from_uuid(model.id),
            username: model.username,
            credential,
            membership: Membership {
                is_lifetime: model.is_lifetime,
                active_until: model.active_until,
            },
            signup_ip: ip(model.signup_ip)?,
            last_ip: ip(model.last_ip)?,
            device_limit: model.allowed_number_of_devices.map(count).transpose()?,
            session_limit: model
                .allowed_number_of_simultaneous_sessions
                .map(count)
                .transpose()?,
            created_at: model.created_at,
        })
    }
}

impl TryFrom<adjustment_entity::Model> for Adjustment {
    type Error = anyhow::Error;

    fn try_from(model: adjustment_entity::Model) -> anyhow::Result<Self> {
        let kind = match model.kind.as_str() {
            "license" => AdjustmentKind::License,
            "admin" => AdjustmentKind::Admin,
            other => anyhow::bail!("unknown adjustment kind {other:?}"),
        };
        Ok(Self {
            id: AdjustmentId::from_uuid(model.id),
            kind,
            occurred_at: model.occurred_at,
            minutes: model.minutes,
            grants_lifetime_access: model.grants_lifetime_access,
            revokes_lifetime_access: model.revokes_lifetime_access,
            license_id: model.license_id.map(LicenseId::from_uuid),
            reason: model.reason,
        })
    }
}

/// The canonical username as a search compares it: by code point. PostgreSQL's column
/// compares by the database's collation, so the search uses `COLLATE "C"` (and its index,
/// migration 15); SQLite compares text by bytes, which is code point order for UTF-8.
fn canonical_name(by_code_point: bool) -> Expr {
    if by_code_point {
        Expr::cust(r#""users"."username_canonical" COLLATE "C""#)
    } else {
        Expr::col((Entity, Column::UsernameCanonical))
    }
}

/// The first string, in code point order, after every string starting with `prefix`: the
/// prefix with its last character moved one code point on (`None`: no such string).
fn past_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Inserts a user; the unique index on (application, canonical username) decides races.
/// The insert of a new user, for the transaction that sends it
/// ([`crate::transaction`]); a taken canonical username is a unique violation.
pub(crate) fn insert_statement(app: ApplicationId, user: &NewUser) -> InsertStatement {
    let (credential_type, password_hash) = match &user.credential {
        Credential::Password(hash) => (PASSWORD, Some(hash.as_str().to_owned())),
        Credential::LicenseCode => (LICENSE_CODE, None),
    };
    let active = ActiveModel {
        id: Set(user.id.as_uuid()),
        application_id: Set(app.as_uuid()),
        username: Set(user.username.as_str().to_owned()),
        username_canonical: Set(user.username.canonical().to_owned()),
        password_hash: Set(password_hash),
        credential_type: Set(credential_type.to_owned()),
        is_lifetime: Set(user.membership.is_lifetime),
        active_until: Set(user.membership.active_until),
        signup_ip: Set(Some(user.signup_ip.to_string())),
        last_ip: Set(Some(user.signup_ip.to_string())),
        created_at: Set(user.created_at),
        allowed_number_of_devices: Set(None),
        allowed_number_of_simultaneous_sessions: Set(None),
    };
    Entity::insert(active).into_query()
}

/// Records `ip` as the user's last IP with an `UPDATE` that also locks the row until the
/// transaction ends (PostgreSQL's row lock; SQLite's write lock), then reads the user.
pub(crate) async fn lock<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    ip: Option<ClientIp>,
) -> anyhow::Result<Option<User>> {
    let last_ip = match ip {
        Some(ip) => Expr::value(ip.to_string()),
        None => Expr::col(Column::LastIp),
    };
    let touched = Entity::update_many()
        .col_expr(Column::LastIp, last_ip)
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::Id.eq(user.as_uuid()))
        .exec(db)
        .await
        .or_unavailable("locking a user")?;
    if touched.rows_affected == 0 {
        return Ok(None);
    }
    Entity::find_by_id(user.as_uuid())
        .one(db)
        .await
        .or_unavailable("reading a locked user")?
        .map(User::try_from)
        .transpose()
}

pub(crate) async fn set_password_hash<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    hash: &PasswordHash,
) -> anyhow::Result<()> {
    Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(hash.as_str()))
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::Id.eq(user.as_uuid()))
        .exec(db)
        .await
        .or_unavailable("replacing a password hash")?;
    Ok(())
}

/// Stores a new membership and the ledger row that explains it.
pub(crate) async fn adjust_membership<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    membership: Membership,
    adjustment: &Adjustment,
) -> anyhow::Result<()> {
    Entity::update_many()
        .col_expr(Column::IsLifetime, Expr::value(membership.is_lifetime))
        .col_expr(Column::ActiveUntil, Expr::value(membership.active_until))
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::Id.eq(user.as_uuid()))
        .exec(db)
        .await
        .or_unavailable("updating a membership")?;
    record_adjustment(db, app, user, adjustment).await
}

/// Stores a membership adjustment's ledger row.
pub(crate) async fn record_adjustment<C: ConnectionTrait>(
    db: &C,
    app: ApplicationId,
    user: UserId,
    adjustment: &Adjustment,
) -> anyhow::Result<()> {
    db.execute(&adjustment_statement(app, user, adjustment))
        .await
        .or_unavailable("recording a membership adjustment")?;
    Ok(())
}

/// The insert of a membership adjustment's ledger row.
pub(crate) fn adjustment_statement(
    app: ApplicationId,
    user: UserId,
    adjustment: &Adjustment,
) -> InsertStatement {
    let row = adjustment_entity::ActiveModel {
        id: Set(adjustment.id.as_uuid()),
        application_id: Set(app.as_uuid()),
        user_id: Set(user.as_uuid()),
        kind: Set(adjustment.kind.as_str().to_owned()),
        occurred_at: Set(adjustment.occurred_at),
        minutes: Set(adjustment.minutes),
        grants_lifetime_access: Set(adjustment.grants_lifetime_access),
        revokes_lifetime_access: Set(adjustment.revokes_lifetime_access),
        license_id: Set(adjustment.license_id.map(|id| id.as_uuid())),
        reason: Set(adjustment.reason.clone()),
    };
    adjustment_entity::Entity::insert(row).into_query()
}

#[async_trait]
impl UserStore for SeaOrmStore {
    async fn find_by_username(
        &self,
        app: ApplicationId,
        username: &Username,
    ) -> anyhow::Result<Option<User>> {
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::UsernameCanonical.eq(username.canonical()))
            .one(&self.db)
            .await
            .or_unavailable("finding a user by username")?
            .map(User::try_from)
            .transpose()
    }

    async fn list(&self, app: ApplicationId, page: &PageRequest) -> anyhow::Result<Page<User>> {
        let select = Entity::find().filter(Column::ApplicationId.eq(app.as_uuid()));
        let rows = keyset(select, Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing users")?;
        Page::from_rows(rows, page, |row| row.id).try_map(User::try_from)
    }

    async fn list_by_offset(
        &self,
        app: ApplicationId,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<(Vec<User>, u64)> {
        let query = Entity::find().filter(Column::ApplicationId.eq(app.as_uuid()));
        let total = query
            .clone()
            .count(&self.db)
            .await
            .or_unavailable("counting users")?;
        let users = query
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await
            .or_unavailable("listing users")?
            .into_iter()
            .map(User::try_from)
            .collect::<anyhow::Result<_>>()?;
        Ok((users, total))
    }

    async fn find_many(&self, app: ApplicationId, ids: &[UserId]) -> anyhow::Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await
            .or_unavailable("reading users by id")?
            .into_iter()
            .map(User::try_from)
            .collect()
    }

    async fn search(
        &self,
        app: ApplicationId,
        prefix: &str,
        page: &PageRequest,
    ) -> anyhow::Result<Page<User>> {
        let by_code_point = self.backend() == DbBackend::Postgres;
        let mut select = Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(canonical_name(by_code_point).gte(prefix));
        if let Some(past) = past_prefix(prefix) {
            select = select.filter(canonical_name(by_code_point).lt(past));
        }
        if let Some(cursor) = page.after() {
            let seen: Option<String> = Entity::find()
                .select_only()
                .column(Column::UsernameCanonical)
                .filter(Column::ApplicationId.eq(app.as_uuid()))
                .filter(Column::Id.eq(cursor.id()))
                .into_tuple()
                .one(&self.db)
                .await
                .or_unavailable("reading a search cursor")?;
            // The last user seen was deleted: its name is gone, so the search starts over.
            if let Some(seen) = seen {
                select = select.filter(canonical_name(by_code_point).gt(seen));
            }
        }
        let rows = select
            .order_by(canonical_name(by_code_point), Order::Asc)
            .limit(page.rows_to_fetch())
            .all(&self.db)
            .await
            .or_unavailable("searching users")?;
        Page::from_rows(rows, page, |row| row.id).try_map(User::try_from)
    }

    async fn ledger(
        &self,
        app: ApplicationId,
        user: UserId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<Adjustment>> {
        let select = adjustment_entity::Entity::find()
            .filter(adjustment_entity::Column::ApplicationId.eq(app.as_uuid()))
            .filter(adjustment_entity::Column::UserId.eq(user.as_uuid()));
        let rows = keyset(select, adjustment_entity::Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("reading a membership ledger")?;
        Page::from_rows(rows, page, |row| row.id).try_map(Adjustment::try_from)
    }

    async fn delete(
        &self,
        app: ApplicationId,
        user: UserId,
        events: &[Event],
    ) -> anyhow::Result<bool> {
        // Devices, sessions, the ledger and variables go with the row (foreign keys on
        // delete cascade); licenses stay, naming nobody (on delete set null).
        let deleted = self
            .change_with_events(events, "deleting a user", async |txn| {
                let result = Entity::delete_many()
                    .filter(Column::ApplicationId.eq(app.as_uuid()))
                    .filter(Column::Id.eq(user.as_uuid()))
                    .exec(txn)
                    .await
                    .or_unavailable("deleting a user")?;
                Ok((result.rows_affected > 0).then_some(()))
            })
            .await?;
        Ok(deleted.is_some())
    }

    async fn set_limits(
        &self,
        app: ApplicationId,
        user: UserId,
        limits: &UserLimits,
    ) -> anyhow::Result<bool> {
        let updated = Entity::update_many()
            .col_expr(
                Column::AllowedNumberOfDevices,
                Expr::value(limits.device_limit.map(stored_count)),
            )
            .col_expr(
                Column::AllowedNumberOfSimultaneousSessions,
                Expr::value(limits.session_limit.map(stored_count)),
            )
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::Id.eq(user.as_uuid()))
            .exec(&self.db)
            .await
            .or_unavailable("setting a user's limits")?;
        Ok(updated.rows_affected > 0)
    }

    async fn get(&self, app: ApplicationId, id: UserId) -> anyhow::Result<Option<User>> {
        Entity::find()
            .filter(Column::ApplicationId.eq(app.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .one(&self.db)
            .await
            .or_unavailable("finding a user by id")?
            .map(User::try_from)
            .transpose()
    }
}
