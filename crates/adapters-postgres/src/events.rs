//! [`EventStore`] and the insert [`Transaction::record_event`](domain::ports::Transaction)
//! makes: events in the `events` table, written only in the transaction of their change and
//! deleted only by the retention purge (which PostgreSQL's trigger lets through, and nothing
//! else; see migration 10).

use crate::SeaOrmStore;
use crate::connection::DbResultExt as _;
use crate::endpoint_cache::EndpointCache;
use crate::entities::event::{self, ActiveModel, Column, Entity};
use crate::pages::keyset;
use crate::purge::delete_batch;
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::event::{
    Actor, ActorFilter, Detail, Event, EventFilter, EventSummary, EventTarget, EventType,
    RequestContext,
};
use domain::page::{Page, PageRequest};
use domain::ports::EventStore;
use domain::values::{ApplicationId, ClientIp, EventId};
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, NotSet,
    QueryFilter, QueryTrait as _, Set, Statement,
};
use serde_json::{Map, Value};

fn summary_json(summary: &EventSummary) -> String {
    let object: Map<String, Value> = summary
        .iter()
        .map(|(name, detail)| {
            let value = match detail {
                Detail::Text(text) => Value::from(text.as_str()),
                Detail::Number(number) => Value::from(*number),
                Detail::Flag(flag) => Value::from(*flag),
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(object).to_string()
}

fn summary_from_json(raw: &str) -> anyhow::Result<EventSummary> {
    let Value::Object(object) = serde_json::from_str(raw).context("stored event summary")? else {
        anyhow::bail!("stored event summary is not an object");
    };
    object
        .into_iter()
        .map(|(name, value)| {
            let detail = match value {
                Value::String(text) => Detail::Text(text),
                Value::Bool(flag) => Detail::Flag(flag),
                Value::Number(number) => {
                    Detail::Number(number.as_i64().context("stored event summary number")?)
                }
                other => anyhow::bail!("stored event summary value {other}"),
            };
            Ok((name, detail))
        })
        .collect()
}

impl TryFrom<event::Model> for Event {
    type Error = anyhow::Error;

    fn try_from(model: event::Model) -> anyhow::Result<Self> {
        let event_type = EventType::parse(&model.event_type)
            .with_context(|| format!("stored event type {:?}", model.event_type))?;
        let actor = Actor::from_parts(&model.actor_kind, model.actor_id.as_deref())
            .with_context(|| format!("stored event actor {:?}", model.actor_kind))?;
        let context = model
            .client_ip
            .as_deref()
            .map(|ip| -> anyhow::Result<RequestContext> {
                Ok(RequestContext {
                    client_ip: ClientIp::parse(ip).context("stored event client ip")?,
                    user_agent: model.user_agent,
                    request_id: model.request_id,
                })
            })
            .transpose()?;
        Ok(Self {
            id: EventId::from_uuid(model.id),
            application_id: ApplicationId::from_uuid(model.application_id),
            event_type,
            actor,
            target: EventTarget {
                kind: model.target_kind,
                id: model.target_id,
            },
            context,
            summary: summary_from_json(&model.summary)?,
            occurred_at: model.occurred_at,
        })
    }
}

fn row(event: &Event) -> ActiveModel {
    let context = event.context.as_ref();
    ActiveModel {
        id: Set(event.id.as_uuid()),
        application_id: Set(event.application_id.as_uuid()),
        event_type: Set(event.event_type.as_str().to_owned()),
        actor_kind: Set(event.actor.kind().to_owned()),
        actor_id: Set(event.actor.id()),
        target_kind: Set(event.target.kind.clone()),
        target_id: Set(event.target.id),
        client_ip: Set(context.map(|context| context.client_ip.to_string())),
        user_agent: Set(context.and_then(|context| context.user_agent.clone())),
        request_id: Set(context.and_then(|context| context.request_id.clone())),
        summary: Set(summary_json(&event.summary)),
        occurred_at: Set(event.occurred_at),
        commit_order: NotSet,
    }
}

/// Records `events` in `txn`, the transaction of the changes they describe; they are the
/// webhooks' outbox too. `true` when an enabled endpoint subscribes to one of them: the
/// caller then wakes the dispatcher after the commit ([`SeaOrmStore::committed`]).
pub(crate) async fn record(
    txn: &impl ConnectionTrait,
    endpoints: &EndpointCache,
    events: &[Event],
) -> anyhow::Result<bool> {
    insert(txn, events).await?;
    crate::webhooks::subscribed(txn, endpoints, events).await
}

impl SeaOrmStore {
    /// Runs `change` in a transaction of its own and, when it changed something (`Some`),
    /// records `events` with it.
    pub(crate) async fn change_with_events<T>(
        &self,
        events: &[Event],
        what: &'static str,
        change: impl AsyncFnOnce(&DatabaseTransaction) -> anyhow::Result<Option<T>>,
    ) -> anyhow::Result<Option<T>> {
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable(what)?;
        let Some(changed) = change(&txn).await? else {
            return Ok(None);
        };
        let queued = record(&txn, &self.endpoints, events).await?;
        txn.commit().await.or_unavailable(what)?;
        self.committed(queued);
        Ok(Some(changed))
    }

    /// After a commit: wakes this process's dispatcher when it has something to send.
    pub(crate) fn committed(&self, wake_dispatcher: bool) {
        if wake_dispatcher {
            self.deliveries_queued.notify_one();
        }
    }
}

/// Inserts `events` in batches small enough for any database's limit on bound values.
pub(crate) async fn insert(db: &impl ConnectionTrait, events: &[Event]) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let commit_order = sqlite_commit_order(db).await?;
    for statement in insert_statements(events, commit_order) {
        db.execute(&statement)
            .await
            .or_unavailable("recording events")?;
    }
    Ok(())
}

/// The inserts of `events`, a batch each; `commit_order` as [`sqlite_commit_order`] gives it.
pub(crate) fn insert_statements(
    events: &[Event],
    commit_order: Option<i64>,
) -> Vec<InsertStatement> {
    events
        .chunks(crate::MAX_ROWS_PER_INSERT)
        .map(|chunk| {
            Entity::insert_many(chunk.iter().map(|event| ActiveModel {
                commit_order: commit_order.map_or(NotSet, Set),
                ..row(event)
            }))
            .into_query()
        })
        .collect()
}

/// On SQLite, the commit order of this transaction's events: one more than any before,
/// and than the dispatcher's position (all events may have been purged). SQLite lets one
/// transaction write at a time, so no other can take the same number before this one
/// commits. `None` on PostgreSQL, which fills it in with the transaction's id.
pub(crate) async fn sqlite_commit_order(db: &impl ConnectionTrait) -> anyhow::Result<Option<i64>> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(None);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT max(coalesce((SELECT max(commit_order) FROM events), 0), \
                 coalesce((SELECT commit_order FROM webhook_fan_out), 0)) + 1 AS next",
        ))
        .await
        .or_unavailable("ordering events")?
        .context("the next commit order")?;
    Ok(Some(
        row.try_get("", "next").context("the next commit order")?,
    ))
}

#[async_trait]
impl EventStore for SeaOrmStore {
    async fn list(
        &self,
        app: ApplicationId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> anyhow::Result<Page<Event>> {
        let mut select = Entity::find().filter(Column::ApplicationId.eq(app.as_uuid()));
        if let Some(event_type) = filter.event_type {
            select = select.filter(Column::EventType.eq(event_type.as_str()));
        }
        match &filter.actor {
            Some(ActorFilter::Kind(kind)) => select = select.filter(Column::ActorKind.eq(*kind)),
            Some(ActorFilter::Id(id)) => select = select.filter(Column::ActorId.eq(id.as_str())),
            None => {}
        }
        if let Some(target) = filter.target {
            select = select.filter(Column::TargetId.eq(target));
        }
        if let Some(since) = filter.since {
            select = select.filter(Column::OccurredAt.gte(since));
        }
        if let Some(until) = filter.until {
            select = select.filter(Column::OccurredAt.lt(until));
        }
        let rows = keyset(select, Column::Id, page)
            .all(&self.db)
            .await
            .or_unavailable("listing events")?;
        Page::from_rows(rows, page, |row| row.id).try_map(Event::try_from)
    }

    async fn delete_older_than(&self, before: DateTime<Utc>, batch: u64) -> anyhow::Result<u64> {
        let txn = crate::connection::begin_write(&self.db)
            .await
            .or_unavailable("starting the audit purge")?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // The one way past the append-only trigger, for this transaction only.
            txn.execute_unprepared("SET LOCAL latchkey.audit_purge = 'on'")
                .await
                .or_unavailable("starting the audit purge")?;
        }
        let deleted = delete_batch::<Entity>(
            &txn,
            &[Column::Id],
            Column::OccurredAt.lt(before),
            batch,
            "purging old events",
        )
        .await?;
        txn.commit().await.or_unavailable("purging old events")?;
        Ok(deleted)
    }
}
