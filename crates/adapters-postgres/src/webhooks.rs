//! [`WebhookStore`], and the writes the [`Transaction`](domain::ports::Transaction) makes for
//! webhooks: endpoints, deliveries (those of new events: [`crate::fan_out`]), attempts.

use crate::SeaOrmStore;
use crate::connection::{DbResultExt as _, raw_statement};
use crate::endpoint_cache::EndpointCache;
use crate::entities::{event, webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::pages::keyset;
use crate::purge::delete_batch;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::event::Event;
use domain::page::{Page, PageRequest};
use domain::ports::WebhookStore;
use domain::values::{ApplicationId, EventId, WebhookDeliveryId, WebhookEndpointId};
use domain::webhook::{
    AttemptOutcome, ClaimedDelivery, DeliveryState, DisabledReason, EventTypePattern,
    FinishedAttempt, NextStep, PreviousSecret, Requeued, TakenEvents, WebhookAttempt,
    WebhookBacklog, WebhookDelivery, WebhookEndpoint, WebhookUrl,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

impl TryFrom<webhook_endpoint::Model> for WebhookEndpoint {
    type Error = anyhow::Error;

    fn try_from(model: webhook_endpoint::Model) -> anyhow::Result<Self> {
        let event_types: Vec<&str> = model.event_types.split(' ').collect();
        let previous_secret = match (
            model.previous_sealed_secret,
            model.previous_secret_expires_at,
        ) {
            (Some(sealed), Some(expires_at)) => Some(PreviousSecret { sealed, expires_at }),
            _ => None,
        };
        Ok(Self {
            id: WebhookEndpointId::from_uuid(model.id),
            application_id: ApplicationId::from_uuid(model.application_id),
            url: WebhookUrl::parse(&model.url).context("stored webhook url")?,
            event_types: EventTypePattern::parse_all(&event_types)
                .context("stored webhook event types")?,
            enabled: model.enabled,
            description: model.description,
            sealed_secret: model.sealed_secret,
            previous_secret,
            failing_since: model.failing_since,
            disabled_reason: model
                .disabled_reason
                .as_deref()
                .map(|raw| DisabledReason::parse(raw).context("stored disabled reason"))
                .transpose()?,
            created_at: model.created_at,
            updated_at: model.updated_at,
            enabled_since: model.enabled_since.unwrap_or(model.created_at),
        })
    }
}

/// A stored endpoint the outbox and the dispatcher can use; one that does not read back is
/// logged and left out, so it cannot stop its application's changes or other deliveries.
fn usable_endpoint(model: webhook_endpoint::Model) -> Option<WebhookEndpoint> {
    let id = model.id;
    WebhookEndpoint::try_from(model)
        .inspect_err(|error| {
            tracing::error!(endpoint = %id, error = format!("{error:#}"), "a stored webhook endpoint does not read back; skipped");
        })
        .ok()
}

fn endpoint_row(endpoint: &WebhookEndpoint) -> webhook_endpoint::ActiveModel {
    let patterns: Vec<&str> = endpoint
        .event_types
        .iter()
        .map(EventTypePattern::as_str)
        .collect();
    let previous = endpoint.previous_secret.as_ref();
    webhook_endpoint::ActiveModel {
        id: Set(endpoint.id.as_uuid()),
        application_id: Set(endpoint.application_id.as_uuid()),
        url: Set(endpoint.url.as_str().to_owned()),
        event_types: Set(patterns.join(" ")),
        enabled: Set(endpoint.enabled),
        description: Set(endpoint.description.clone()),
        sealed_secret: Set(endpoint.sealed_secret.clone()),
        previous_sealed_secret: Set(previous.map(|previous| previous.sealed.clone())),
        previous_secret_expires_at: Set(previous.map(|previous| previous.expires_at)),
        failing_since: Set(endpoint.failing_since),
        disabled_reason: Set(endpoint.disabled_reason.map(|r| r.as_str().to_owned())),
        created_at: Set(endpoint.created_at),
        enabled_since: Set(Some(endpoint.enabled_since)),
        updated_at: Set(endpoint.updated_at),
    }
}

fn delivery(
    model: webhook_delivery::Model,
    attempts: Vec<WebhookAttempt>,
) -> anyhow::Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: WebhookDeliveryId::from_uuid(model.id),
        application_id: ApplicationId::from_uuid(model.application_id),
        endpoint_id: WebhookEndpointId::from_uuid(model.endpoint_id),
        message_id: model.message_id,
        event_id: model.event_id.map(EventId::from_uuid),
        message_type: model.message_type,
        state: DeliveryState::parse(&model.state).context("stored delivery state")?,
        attempts_in_run: u32::try_from(model.attempts_in_run).unwrap_or_default(),
        next_attempt_at: model.next_attempt_at,
        created_at: model.created_at,
        attempts,
    })
}

pub(crate) fn delivery_row(delivery: &WebhookDelivery) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(delivery.id.as_uuid()),
        application_id: Set(delivery.application_id.as_uuid()),
        endpoint_id: Set(delivery.endpoint_id.as_uuid()),
        message_id: Set(delivery.message_id),
        event_id: Set(delivery.event_id.map(|id| id.as_uuid())),
        message_type: Set(delivery.message_type.clone()),
        state: Set(delivery.state.as_str().to_owned()),
        attempts_in_run: Set(i32::try_from(delivery.attempts_in_run).unwrap_or(i32::MAX)),
        next_attempt_at: Set(delivery.next_attempt_at),
        lease: Set(None),
        lease_until: Set(None),
        created_at: Set(delivery.created_at),
    }
}

impl TryFrom<webhook_attempt::Model> for WebhookAttempt {
    type Error = anyhow::Error;

    fn try_from(model: webhook_attempt::Model) -> anyhow::Result<Self> {
        Ok(Self {
            attempted_at: model.attempted_at,
            status: model.status.and_then(|status| u16::try_from(status).ok()),
            duration_ms: u32::try_from(model.duration_ms).unwrap_or_default(),
            response: model.response,
            error: model.error,
            outcome: AttemptOutcome::parse(&model.outcome).context("stored attempt outcome")?,
        })
    }
}

/// Whether an enabled endpoint of the events' applications subscribes to any of them: the
/// dispatcher is woken then. Endpoints are cached per application, since this runs in every
/// transaction that records events.
pub(crate) async fn subscribed(
    db: &impl ConnectionTrait,
    cache: &EndpointCache,
    events: &[Event],
) -> anyhow::Result<bool> {
    let mut applications: Vec<ApplicationId> = events.iter().map(|e| e.application_id).collect();
    applications.sort_unstable();
    applications.dedup();
    for app in applications {
        let enabled = match cache.get(app) {
            Some(enabled) => enabled,
            None => {
                let enabled: Arc<Vec<WebhookEndpoint>> =
                    Arc::new(enabled_endpoints(db, &[app.as_uuid()]).await?);
                cache.put(app, enabled.clone());
                enabled
            }
        };
        let any = events.iter().any(|event| {
            event.application_id == app
                && enabled
                    .iter()
                    .any(|endpoint| endpoint.subscribes_to(event.event_type.as_str()))
        });
        if any {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The enabled endpoints of `applications`.
pub(crate) async fn enabled_endpoints(
    db: &impl ConnectionTrait,
    applications: &[Uuid],
) -> anyhow::Result<Vec<WebhookEndpoint>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::ApplicationId.is_in(applications.iter().copied()))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await
        .or_unavailable("finding the webhook endpoints of events")?
        .into_iter()
        .filter_map(usable_endpoint)
        .collect())
}

pub(crate) async fn insert_endpoint(
    db: &impl ConnectionTrait,
    endpoint: &WebhookEndpoint,
) -> anyhow::Result<()> {
    webhook_endpoint::Entity::insert(endpoint_row(endpoint))
        .exec_without_returning(db)
        .await
        .or_unavailable("storing a webhook endpoint")?;
    Ok(())
}

/// Locks by touching the row (portable: a row lock on PostgreSQL, the write lock on SQLite).
pub(crate) async fn lock_endpoint(
    db: &impl ConnectionTrait,
    app: ApplicationId,
    id: WebhookEndpointId,
) -> anyhow::Result<Option<WebhookEndpoint>> {
    let touched = webhook_endpoint::Entity::update_many()
        .col_expr(
            webhook_endpoint::Column::UpdatedAt,
            Expr::col(webhook_endpoint::Column::UpdatedAt),
        )
        .filter(webhook_endpoint::Column::ApplicationId.eq(app.as_uuid()))
        .filter(webhook_endpoint::Column::Id.eq(id.as_uuid()))
        .exec(db)
        .await
        .or_unavailable("locking a webhook endpoint")?;
    if touched.rows_affected == 0 {
        return Ok(None);
    }
    find_endpoint(db, app, id).await
}

async fn find_endpoint(
    db: &impl ConnectionTrait,
    app: ApplicationId,
    id: WebhookEndpointId,
) -> anyhow::Result<Option<WebhookEndpoint>> {
    webhook_endpoint::Entity::find_by_id(id.as_uuid())
        .filter(webhook_endpoint::Column::ApplicationId.eq(app.as_uuid()))
        .one(db)
        .await
        .or_unavailable("reading a webhook endpoint")?
        .map(WebhookEndpoint::try_from)
        .transpose()
}

pub(crate) async fn update_endpoint(
    db: &impl ConnectionTrait,
    endpoint: &WebhookEndpoint,
) -> anyhow::Result<()> {
    webhook_endpoint::Entity::update(endpoint_row(endpoint))
        .exec(db)
        .await
        .or_unavailable("storing a webhook endpoint")?;
    Ok(())
}

pub(crate) async fn delete_endpoint(
    db: &impl ConnectionTrait,
    app: ApplicationId,
    id: WebhookEndpointId,
) -> anyhow::Result<bool> {
    // Attempts and deliveries go with it (foreign keys with ON DELETE CASCADE).
    let deleted = webhook_endpoint::Entity::delete_many()
        .filter(webhook_endpoint::Column::ApplicationId.eq(app.as_uuid()))
        .filter(webhook_endpoint::Column::Id.eq(id.as_uuid()))
        .exec(db)
        .await
        .or_unavailable("deleting a webhook endpoint")?;
    Ok(deleted.rows_affected > 0)
}

pub(crate) async fn insert_delivery(
    db: &impl ConnectionTrait,
    delivery: &WebhookDelivery,
) -> anyhow::Result<()> {
    webhook_delivery::Entity::insert(delivery_row(delivery))
        .exec_without_returning(db)
        .await
        .or_unavailable("queueing a webhook delivery")?;
    Ok(())
}

pub(crate) async fn requeue_delivery(
    db: &impl ConnectionTrait,
    app: ApplicationId,
    endpoint: WebhookEndpointId,
    id: WebhookDeliveryId,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Requeued>> {
    use webhook_delivery::Column;
    let Some(found) = webhook_delivery::Entity::find_by_id(id.as_uuid())
        .filter(Column::ApplicationId.eq(app.as_uuid()))
        .filter(Column::EndpointId.eq(endpoint.as_uuid()))
        .one(db)
        .await
        .or_unavailable("finding a webhook delivery")?
    else {
        return Ok(None);
    };
    // Not while a claim holds it: it is being sent now.
    let requeued = webhook_delivery::Entity::update_many()
        .col_expr(Column::State, Expr::value(DeliveryState::Pending.as_str()))
        .col_expr(Column::AttemptsInRun, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::Lease, Expr::value(Option::<Uuid>::None))
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(found.id))
        .filter(
            Condition::any()
                .add(Column::Lease.is_null())
                .add(Column::LeaseUntil.lte(now)),
        )
        .exec(db)
        .await
        .or_unavailable("requeueing a webhook delivery")?;
    if requeued.rows_affected == 0 {
        return Ok(Some(Requeued::InFlight));
    }
    let rows = with_attempts(db, vec![found_delivery(db, id).await?]).await?;
    Ok(rows.into_iter().next().map(Requeued::Due))
}

async fn found_delivery(
    db: &impl ConnectionTrait,
    id: WebhookDeliveryId,
) -> anyhow::Result<webhook_delivery::Model> {
    webhook_delivery::Entity::find_by_id(id.as_uuid())
        .one(db)
        .await
        .or_unavailable("reading a webhook delivery")?
        .context("a webhook delivery vanished in its own transaction")
}

/// Records a claim's attempts: one `UPDATE … RETURNING` per outcome for the deliveries
/// done, one per retry (each has its own time), and one insert of the attempts of those the
/// claim still held.
pub(crate) async fn finish_attempts(
    db: &impl ConnectionTrait,
    lease: Uuid,
    finished: &[FinishedAttempt],
) -> anyhow::Result<Vec<WebhookDeliveryId>> {
    use webhook_delivery::Column;
    let mut groups: Vec<(DeliveryState, Option<DateTime<Utc>>, Vec<Uuid>)> = Vec::new();
    for done in finished {
        let (state, retry_at) = match done.next {
            NextStep::Done(state) => (state, None),
            NextStep::RetryAt(at) => (DeliveryState::Pending, Some(at)),
        };
        match groups
            .iter_mut()
            .find(|(s, r, _)| *s == state && r.is_none() && retry_at.is_none())
        {
            Some(group) => group.2.push(done.delivery.as_uuid()),
            None => groups.push((state, retry_at, vec![done.delivery.as_uuid()])),
        }
    }
    let mut recorded = Vec::with_capacity(finished.len());
    for (state, retry_at, ids) in groups {
        let next_attempt_at = retry_at.map_or(Expr::col(Column::NextAttemptAt), Expr::value);
        let updated = webhook_delivery::Entity::update_many()
            .col_expr(Column::State, Expr::value(state.as_str()))
            .col_expr(
                Column::AttemptsInRun,
                Expr::col(Column::AttemptsInRun).add(1),
            )
            .col_expr(Column::NextAttemptAt, next_attempt_at)
            .col_expr(Column::Lease, Expr::value(Option::<Uuid>::None))
            .col_expr(
                Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(Column::Id.is_in(ids))
            .filter(Column::Lease.eq(lease))
            .exec_with_returning(db)
            .await
            .or_unavailable("recording webhook attempts")?;
        recorded.extend(updated.into_iter().map(|row| row.id));
    }
    let rows: Vec<_> = finished
        .iter()
        .filter(|done| recorded.contains(&done.delivery.as_uuid()))
        .map(|done| attempt_row(done.delivery, &done.attempt))
        .collect();
    for chunk in rows.chunks(crate::MAX_ROWS_PER_INSERT) {
        webhook_attempt::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .or_unavailable("recording webhook attempts")?;
    }
    Ok(recorded
        .into_iter()
        .map(WebhookDeliveryId::from_uuid)
        .collect())
}

/// PostgreSQL's text refuses NUL: an answer's or an error's is replaced.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

pub(crate) fn attempt_row(
    delivery: WebhookDeliveryId,
    attempt: &WebhookAttempt,
) -> webhook_attempt::ActiveModel {
    webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(delivery.as_uuid()),
        attempted_at: Set(attempt.attempted_at),
        status: Set(attempt.status.map(i32::from)),
        duration_ms: Set(i32::try_from(attempt.duration_ms).unwrap_or(i32::MAX)),
        response: Set(storable(&attempt.response)),
        error: Set(attempt.error.as_deref().map(storable)),
        outcome: Set(attempt.outcome.as_str().to_owned()),
    }
}

/// The deliveries with their attempts, newest first, in one query for all of them.
async fn with_attempts(
    db: &impl ConnectionTrait,
    deliveries: Vec<webhook_delivery::Model>,
) -> anyhow::Result<Vec<WebhookDelivery>> {
    let ids: Vec<Uuid> = deliveries.iter().map(|delivery| delivery.id).collect();
    let mut attempts: HashMap<Uuid, Vec<WebhookAttempt>> = HashMap::new();
    if !ids.is_empty() {
        let rows = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
            .order_by_desc(webhook_attempt::Column::Id)
            .all(db)
            .await
            .or_unavailable("reading webhook attempts")?;
        for row in rows {
            let delivery_id = row.delivery_id;
            attempts
                .entry(delivery_id)
                .or_default()
                .push(WebhookAttempt::try_from(row)?);
        }
    }
    deliveries
        .into_iter()
        .map(|model| {
            let attempts = attempts.remove(&model.id).unwrap_or_default();
            delivery(model, attempts)
        })
        .collect()
}

/// Claims due deliveries: holds them until `lease_until` under the claim's name, in one
/// statement. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim side by side, each
/// taking rows no other claim holds; SQLite has one writer, and one dispatcher. The claim
/// changes no indexed column, so PostgreSQL can update the row in place (HOT, with the
/// table's fill factor leaving room), writing no index entries.
fn claim_statement(
    backend: DatabaseBackend,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    lease: Uuid,
    limit: u64,
) -> Statement {
    let lock = match backend {
        DatabaseBackend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        _ => "",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_until = $1, lease = $2 \
         WHERE id IN (SELECT d.id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $3 \
                 AND (d.lease_until IS NULL OR d.lease_until <= $4) AND e.enabled \
             ORDER BY d.next_attempt_at LIMIT $5 {lock}) \
         RETURNING *"
    );
    raw_statement(
        backend,
        &sql,
        vec![
            lease_until.into(),
            lease.into(),
            now.into(),
            now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    )
}

#[async_trait]
impl WebhookStore for SeaOrmStore {
    async fn list_endpoints(
        &self,
        app: ApplicationId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<WebhookEndpoint>> {
        let select = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::ApplicationId.eq(app.as_uuid()));
        let rows = keyset(select, webhook_endpoint::Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing webhook endpoints")?;
        Page::from_rows(rows, page, |row| row.id).try_map(WebhookEndpoint::try_from)
    }

    async fn get_endpoint(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> anyhow::Result<Option<WebhookEndpoint>> {
        find_endpoint(&self.db, app, id).await
    }

    async fn list_all_endpoints(
        &self,
        page: &PageRequest,
    ) -> anyhow::Result<Page<WebhookEndpoint>> {
        let rows = keyset(
            webhook_endpoint::Entity::find(),
            webhook_endpoint::Column::Id,
            page,
        )
        .all(&self.db)
        .await
        .or_unavailable("listing webhook endpoints")?;
        Page::from_rows(rows, page, |row| row.id).try_map(WebhookEndpoint::try_from)
    }

    async fn list_deliveries(
        &self,
        app: ApplicationId,
        endpoint: WebhookEndpointId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<WebhookDelivery>> {
        let select = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::ApplicationId.eq(app.as_uuid()))
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.as_uuid()));
        let rows = keyset(select, webhook_delivery::Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing webhook deliveries")?;
        let page = Page::from_rows(rows, page, |row| row.id);
        let next = page.next;
        let items = with_attempts(&self.db, page.items).await?;
        Ok(Page { items, next })
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<Vec<ClaimedDelivery>> {
        let lease = Uuid::now_v7();
        let statement = claim_statement(
            self.db.get_database_backend(),
            now,
            lease_until,
            lease,
            limit,
        );
        // The claimed rows, as the claim left them, in the claim's own statement.
        let deliveries = self
            .db
            .query_all_raw(statement)
            .await
            .or_unavailable("claiming webhook deliveries")?
            .iter()
            .map(|row| webhook_delivery::Model::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()
            .context("claimed deliveries")?;
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let endpoint_ids: Vec<Uuid> = deliveries.iter().map(|d| d.endpoint_id).collect();
        let endpoints: HashMap<Uuid, WebhookEndpoint> = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
            .all(&self.db)
            .await
            .or_unavailable("reading the endpoints of claimed deliveries")?
            .into_iter()
            .filter_map(usable_endpoint)
            .map(|endpoint| (endpoint.id.as_uuid(), endpoint))
            .collect();
        let event_ids: Vec<Uuid> = deliveries.iter().filter_map(|d| d.event_id).collect();
        let events: HashMap<Uuid, Event> = event::Entity::find()
            .filter(event::Column::Id.is_in(event_ids))
            .all(&self.db)
            .await
            .or_unavailable("reading the events of claimed deliveries")?
            .into_iter()
            .map(|row| Ok((row.id, Event::try_from(row)?)))
            .collect::<anyhow::Result<_>>()?;
        deliveries
            .into_iter()
            .filter_map(|model| {
                // Deleted since the claim: its deliveries went with it.
                let endpoint = endpoints.get(&model.endpoint_id)?.clone();
                // One event may be claimed for several endpoints at once.
                let event = model.event_id.and_then(|id| events.get(&id).cloned());
                Some(delivery(model, Vec::new()).map(|delivery| ClaimedDelivery {
                    delivery,
                    endpoint,
                    event,
                    lease,
                }))
            })
            .collect()
    }

    async fn delete_finished_before(
        &self,
        before: DateTime<Utc>,
        batch: u64,
    ) -> anyhow::Result<u64> {
        use webhook_delivery::Column;
        // Attempts go with their delivery (ON DELETE CASCADE).
        let finished = Column::State
            .ne(DeliveryState::Pending.as_str())
            .and(Column::CreatedAt.lt(before));
        delete_batch::<webhook_delivery::Entity>(
            &self.db,
            &[Column::Id],
            finished,
            batch,
            "purging old webhook deliveries",
        )
        .await
    }

    async fn take_new_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> anyhow::Result<TakenEvents> {
        crate::fan_out::take_new_events(self, now, lease_until, limit).await
    }

    async fn backlog(&self) -> anyhow::Result<WebhookBacklog> {
        use webhook_delivery::Column;
        let (pending, oldest): (i64, Option<DateTime<Utc>>) = webhook_delivery::Entity::find()
            .select_only()
            .column_as(Column::Id.count(), "pending")
            .column_as(Column::CreatedAt.min(), "oldest")
            .filter(Column::State.eq(DeliveryState::Pending.as_str()))
            // A disabled endpoint's deliveries wait for it to be enabled: not a backlog.
            .filter(
                Column::EndpointId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(webhook_endpoint::Column::Id)
                        .from(webhook_endpoint::Entity)
                        .and_where(webhook_endpoint::Column::Enabled.eq(true))
                        .to_owned(),
                ),
            )
            .into_tuple()
            .one(&self.db)
            .await
            .or_unavailable("counting pending webhook deliveries")?
            .unwrap_or_default();
        let (untaken, oldest_untaken) = crate::fan_out::untaken(&self.db).await?;
        Ok(WebhookBacklog {
            pending: u64::try_from(pending).unwrap_or_default() + untaken,
            oldest_created_at: oldest.into_iter().chain(oldest_untaken).min(),
        })
    }
}
