//! The webhooks' dispatcher reading the events table as its queue (migration
//! `m20261206_000020_webhook_fan_out`): it takes the events committed past its position, in
//! commit order, under a lease, and records their deliveries while moving the position past
//! them in one transaction. A change's own transaction writes nothing for webhooks but its
//! events.

use crate::SeaOrmStore;
use crate::connection::{DbResultExt as _, raw_statement};
use crate::entities::{event, webhook_attempt, webhook_delivery};
use crate::webhooks::{attempt_row, delivery_row, enabled_endpoints};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use domain::event::Event;
use domain::values::EventId;
use domain::webhook::{FanOutPosition, NewEvents, TakenEvents, WebhookDelivery};
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, Statement};
use uuid::Uuid;

/// Whether an event `e` is settled: no event can be committed before it any more. On
/// PostgreSQL, below the oldest transaction still running every transaction has ended, so
/// no event with a lower commit order can appear later. On SQLite one transaction writes at
/// a time and takes a higher order than every committed one: all that a reader sees is
/// settled.
fn settled(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "e.commit_order < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        }
        _ => "1 = 1",
    }
}

pub(crate) async fn take_new_events(
    store: &SeaOrmStore,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> anyhow::Result<TakenEvents> {
    let db = &store.db;
    let backend = db.get_database_backend();
    let settled = settled(backend);
    // Reads first, so that an idle dispatcher writes nothing: the position, then the first
    // event past it and whether it is settled (if it is not, no later one is). The position
    // is bound as values: compared with a joined row's columns, the row comparison would not
    // be an index range.
    let (after, after_event) = position(db).await?;
    let first = raw_statement(
        backend,
        &format!(
            "SELECT {settled} AS settled FROM events e \
             WHERE (e.commit_order, e.id) > ($1, $2) ORDER BY e.commit_order, e.id LIMIT 1"
        ),
        vec![after.into(), after_event.into()],
    );
    let Some(first) = db
        .query_one_raw(first)
        .await
        .or_unavailable("looking for new events")?
    else {
        return Ok(TakenEvents::Nothing);
    };
    if !first.try_get::<bool>("", "settled").context("settled")? {
        return Ok(TakenEvents::NotYet);
    }
    let lease = Uuid::now_v7();
    let take = raw_statement(
        backend,
        "UPDATE webhook_fan_out SET lease = $1, lease_until = $2 \
         WHERE id = 1 AND (lease_until IS NULL OR lease_until <= $3) \
         RETURNING commit_order, event_id",
        vec![lease.into(), lease_until.into(), now.into()],
    );
    let Some(row) = db
        .query_one_raw(take)
        .await
        .or_unavailable("taking the new events")?
    else {
        // Another replica holds them.
        return Ok(TakenEvents::NotYet);
    };
    let after: i64 = row.try_get("", "commit_order").context("the position")?;
    let after_event: Uuid = row.try_get("", "event_id").context("the position")?;
    let read = raw_statement(
        backend,
        &format!(
            "SELECT e.* FROM events e WHERE (e.commit_order, e.id) > ($1, $2) AND {settled} \
             ORDER BY e.commit_order, e.id LIMIT $3"
        ),
        vec![
            after.into(),
            after_event.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    );
    let rows = db
        .query_all_raw(read)
        .await
        .or_unavailable("reading the new events")?
        .iter()
        .map(|row| event::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()
        .context("new events")?;
    let Some(last) = rows.last() else {
        // Another replica moved past them between the look and the lease.
        release(db, lease).await?;
        return Ok(TakenEvents::NotYet);
    };
    let through = FanOutPosition {
        commit_order: last.commit_order,
        event: EventId::from_uuid(last.id),
    };
    let mut applications: Vec<Uuid> = rows.iter().map(|row| row.application_id).collect();
    applications.sort_unstable();
    applications.dedup();
    let endpoints = enabled_endpoints(db, &applications).await?;
    let events = rows
        .into_iter()
        .map(Event::try_from)
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TakenEvents::Taken(NewEvents {
        lease,
        events,
        endpoints,
        through,
    }))
}

/// The dispatcher's position: the commit order and event id it has handed out up to.
async fn position(db: &impl ConnectionTrait) -> anyhow::Result<(i64, Uuid)> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT commit_order, event_id FROM webhook_fan_out WHERE id = 1",
        ))
        .await
        .or_unavailable("reading the webhooks' position")?
        .context("the webhooks' position row (migration m20261206_000020_webhook_fan_out)")?;
    Ok((
        row.try_get("", "commit_order").context("the position")?,
        row.try_get("", "event_id").context("the position")?,
    ))
}

async fn release(db: &impl ConnectionTrait, lease: Uuid) -> anyhow::Result<()> {
    let release = raw_statement(
        db.get_database_backend(),
        "UPDATE webhook_fan_out SET lease = NULL, lease_until = NULL WHERE id = 1 AND lease = $1",
        vec![lease.into()],
    );
    db.execute_raw(release)
        .await
        .or_unavailable("releasing the new events")?;
    Ok(())
}

pub(crate) async fn record_fan_out(
    txn: &impl ConnectionTrait,
    lease: Uuid,
    through: FanOutPosition,
    deliveries: &[WebhookDelivery],
) -> anyhow::Result<bool> {
    let advance = raw_statement(
        txn.get_database_backend(),
        "UPDATE webhook_fan_out SET commit_order = $1, event_id = $2, lease = NULL, \
             lease_until = NULL \
         WHERE id = 1 AND lease = $3",
        vec![
            through.commit_order.into(),
            through.event.as_uuid().into(),
            lease.into(),
        ],
    );
    let moved = txn
        .execute_raw(advance)
        .await
        .or_unavailable("moving the webhooks' position")?;
    if moved.rows_affected() == 0 {
        return Ok(false);
    }
    let rows: Vec<_> = deliveries.iter().map(delivery_row).collect();
    for chunk in rows.chunks(crate::MAX_ROWS_PER_INSERT) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await
            .or_unavailable("recording webhook deliveries")?;
    }
    let attempts: Vec<_> = deliveries
        .iter()
        .flat_map(|delivery| {
            delivery
                .attempts
                .iter()
                .map(|attempt| attempt_row(delivery.id, attempt))
        })
        .collect();
    for chunk in attempts.chunks(crate::MAX_ROWS_PER_INSERT) {
        webhook_attempt::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await
            .or_unavailable("recording webhook attempts")?;
    }
    Ok(true)
}

/// The events not yet taken of applications with an enabled endpoint: how many, and when
/// the oldest occurred.
pub(crate) async fn untaken(
    db: &impl ConnectionTrait,
) -> anyhow::Result<(u64, Option<DateTime<Utc>>)> {
    let (after, after_event) = position(db).await?;
    let count = raw_statement(
        db.get_database_backend(),
        "SELECT count(*) AS waiting, min(e.occurred_at) AS oldest FROM events e \
         WHERE (e.commit_order, e.id) > ($1, $2) \
             AND EXISTS (SELECT 1 FROM webhook_endpoints w \
                 WHERE w.application_id = e.application_id AND w.enabled)",
        vec![after.into(), after_event.into()],
    );
    let row = db
        .query_one_raw(count)
        .await
        .or_unavailable("counting the events not yet taken")?
        .context("a count")?;
    let waiting: i64 = row.try_get("", "waiting").context("the count")?;
    let oldest: Option<DateTime<Utc>> = row.try_get("", "oldest").context("the oldest")?;
    Ok((u64::try_from(waiting).unwrap_or_default(), oldest))
}
