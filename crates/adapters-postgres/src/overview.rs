//! [`ApplicationStats`]: capped counts for the console's overview. Each is
//! `SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)` over one index range (migration 14), so
//! its cost is bounded by the cap, not by the table.

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::entities::{ban, license, user};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::overview::{ApplicationCounts, Count};
use domain::ports::ApplicationStats;
use domain::values::ApplicationId;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Select};

async fn capped<E: EntityTrait>(
    store: &SeaOrmStore,
    query: Select<E>,
    cap: u64,
    what: &'static str,
) -> anyhow::Result<Count>
where
    E::Model: Sync,
{
    // Only the leading key column: with the visibility map set, PostgreSQL answers from the
    // index alone (an index-only scan), never touching the rows.
    let counted = query
        .select_only()
        .column_as(Expr::val(1), "one")
        .limit(cap.saturating_add(1))
        .count(&store.db)
        .await
        .or_unavailable(what)?;
    Ok(Count::of(counted, cap))
}

#[async_trait]
impl ApplicationStats for SeaOrmStore {
    async fn counts(
        &self,
        app: ApplicationId,
        now: DateTime<Utc>,
        cap: u64,
    ) -> anyhow::Result<ApplicationCounts> {
        let users = || user::Entity::find().filter(user::Column::ApplicationId.eq(app.as_uuid()));
        let licenses =
            || license::Entity::find().filter(license::Column::ApplicationId.eq(app.as_uuid()));
        let lifetime = capped(
            self,
            users().filter(user::Column::IsLifetime.eq(true)),
            cap,
            "counting lifetime memberships",
        )
        .await?;
        let timed = capped(
            self,
            users()
                .filter(user::Column::ActiveUntil.gt(now))
                .filter(user::Column::IsLifetime.eq(false)),
            cap,
            "counting active memberships",
        )
        .await?;
        Ok(ApplicationCounts {
            users: capped(self, users(), cap, "counting users").await?,
            active_memberships: Count::of(
                lifetime.value + timed.value + u64::from(lifetime.capped || timed.capped),
                cap,
            ),
            licenses_used: capped(
                self,
                licenses().filter(license::Column::ActivatedAt.is_not_null()),
                cap,
                "counting used licenses",
            )
            .await?,
            licenses_unused: capped(
                self,
                licenses().filter(license::Column::ActivatedAt.is_null()),
                cap,
                "counting unused licenses",
            )
            .await?,
            bans: capped(
                self,
                ban::Entity::find().filter(ban::Column::ApplicationId.eq(app.as_uuid())),
                cap,
                "counting bans",
            )
            .await?,
        })
    }

    async fn activity(
        &self,
        app: ApplicationId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: u64,
    ) -> anyhow::Result<(Count, Count)> {
        let sign_ups = capped(
            self,
            user::Entity::find()
                .filter(user::Column::ApplicationId.eq(app.as_uuid()))
                .filter(user::Column::CreatedAt.gte(from))
                .filter(user::Column::CreatedAt.lt(until)),
            cap,
            "counting a day's sign-ups",
        )
        .await?;
        let redemptions = capped(
            self,
            license::Entity::find()
                .filter(license::Column::ApplicationId.eq(app.as_uuid()))
                .filter(license::Column::ActivatedAt.gte(from))
                .filter(license::Column::ActivatedAt.lt(until)),
            cap,
            "counting a day's redemptions",
        )
        .await?;
        Ok((sign_ups, redemptions))
    }
}
