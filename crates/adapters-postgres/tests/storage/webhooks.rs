//! Webhooks: the committed events taken by the dispatcher in commit order, once, under a
//! lease that no other taker overlaps (concurrent takers included), with the enabled
//! endpoints of their applications; deliveries due again claimed under a lease that no
//! other claim overlaps, and recorded only by the claim that holds them.

use super::events::event;
use super::{application, now};
use adapters_postgres::testing::TestDatabase;
use chrono::{DateTime, Duration, Utc};
use domain::event::{Actor, EventType};
use domain::ports::{UnitOfWork, WebhookStore};
use domain::values::{ApplicationId, WebhookEndpointId};
use domain::webhook::{
    AttemptOutcome, DeliveryState, EventTypePattern, FinishedAttempt, NewEvents, NextStep,
    Requeued, TakenEvents, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookUrl,
};
use sea_orm::{ConnectionTrait as _, Statement};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

crate::on_both_backends!(
    committed_events_are_taken_once_with_the_enabled_endpoints_of_their_applications,
    a_lease_keeps_new_events_from_other_takers_until_it_ends_and_only_it_moves_past_them,
    concurrent_takers_hand_out_each_event_once,
    a_claim_holds_its_deliveries_until_its_lease_ends_and_only_it_records_an_attempt,
    concurrent_claims_never_take_one_delivery_twice,
    finished_deliveries_are_purged_with_their_attempts_and_pending_ones_kept,
);

async fn endpoint(
    db: &TestDatabase,
    app: ApplicationId,
    patterns: &[&str],
    enabled: bool,
) -> WebhookEndpoint {
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::generate(),
        application_id: app,
        url: WebhookUrl::parse("https://hooks.example.com/latchkey").unwrap(),
        event_types: EventTypePattern::parse_all(patterns).unwrap(),
        enabled,
        description: "storage test".into(),
        sealed_secret: vec![1, 2, 3],
        previous_secret: None,
        failing_since: None,
        disabled_reason: None,
        created_at: now(),
        updated_at: now(),
        enabled_since: now(),
    };
    let mut tx = db.store.begin().await.unwrap();
    tx.insert_webhook_endpoint(&endpoint).await.unwrap();
    tx.commit().await.unwrap();
    endpoint
}

async fn record(db: &TestDatabase, app: ApplicationId, count: usize, commit: bool) {
    let events: Vec<_> = (0..count)
        .map(|_| {
            event(
                app,
                EventType::UserCreated,
                Actor::System,
                Uuid::now_v7(),
                now(),
            )
        })
        .collect();
    let mut tx = db.store.begin().await.unwrap();
    tx.record_events(&events).await.unwrap();
    if commit {
        tx.commit().await.unwrap();
    }
}

fn attempt() -> WebhookAttempt {
    WebhookAttempt {
        attempted_at: now(),
        status: Some(200),
        duration_ms: 5,
        response: "ok".into(),
        error: None,
        outcome: AttemptOutcome::Succeeded,
    }
}

/// Queues `count` pending deliveries to `endpoint` (test messages, due now).
async fn queue(db: &TestDatabase, endpoint: &WebhookEndpoint, count: usize) {
    let mut tx = db.store.begin().await.unwrap();
    for _ in 0..count {
        tx.insert_delivery(&WebhookDelivery::test(endpoint, now()))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The deliveries of `new` as a successful first attempt leaves them.
fn sent(new: &NewEvents) -> Vec<WebhookDelivery> {
    new.deliveries()
        .into_iter()
        .map(|claim| WebhookDelivery {
            state: DeliveryState::Succeeded,
            attempts_in_run: 1,
            attempts: vec![attempt()],
            ..claim.delivery
        })
        .collect()
}

/// Records `deliveries` of `new` and moves past it, as the dispatcher does.
async fn record_fan_out(
    db: &TestDatabase,
    new: &NewEvents,
    deliveries: &[WebhookDelivery],
) -> bool {
    let mut tx = db.store.begin().await.unwrap();
    let moved = tx
        .record_fan_out(new.lease, new.through, deliveries)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    moved
}

async fn take(db: &TestDatabase, at: DateTime<Utc>, limit: u64) -> TakenEvents {
    db.store
        .take_new_events(at, at + Duration::seconds(60), limit)
        .await
        .unwrap()
}

/// Takes the new events at `at`, once settled: on PostgreSQL, transactions of other tests
/// on the same server hold them back for a moment.
async fn taken(db: &TestDatabase, at: DateTime<Utc>, limit: u64) -> NewEvents {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match take(db, at, limit).await {
            TakenEvents::Taken(new) => return new,
            other => assert!(
                std::time::Instant::now() < deadline,
                "the events were never taken: {other:?}"
            ),
        }
        tokio::task::yield_now().await;
    }
}

async fn committed_events_are_taken_once_with_the_enabled_endpoints_of_their_applications(
    db: TestDatabase,
) {
    let app = application(&db.store).await.application.id;
    let other = application(&db.store).await.application.id;
    let users = endpoint(&db, app, &["user.*"], true).await;
    let licenses = endpoint(&db, app, &["license.*"], true).await;
    endpoint(&db, app, &["*"], false).await;
    endpoint(&db, other, &["*"], true).await;

    record(&db, app, 1, false).await;
    assert_eq!(
        take(&db, now(), 10).await,
        TakenEvents::Nothing,
        "a rolled-back event is nothing to take"
    );
    assert_eq!(db.store.backlog().await.unwrap().pending, 0);
    record(&db, app, 2, true).await;
    assert_eq!(
        db.store.backlog().await.unwrap().pending,
        2,
        "untaken events wait"
    );

    let new = taken(&db, now(), 10).await;
    assert_eq!(new.events.len(), 2);
    assert!(
        new.events[0].id < new.events[1].id,
        "in the order they were recorded"
    );
    let endpoints: HashSet<_> = new.endpoints.iter().map(|endpoint| endpoint.id).collect();
    assert_eq!(
        endpoints,
        HashSet::from([users.id, licenses.id]),
        "the enabled endpoints of the events' application"
    );
    let deliveries = sent(&new);
    assert_eq!(
        deliveries.len(),
        2,
        "user.created goes to the user.* endpoint only"
    );
    for (delivery, event) in deliveries.iter().zip(&new.events) {
        assert_eq!(delivery.endpoint_id, users.id);
        assert_eq!(delivery.message_id, event.id.as_uuid());
        assert_eq!(delivery.message_type, "user.created");
    }
    assert_eq!(take(&db, now(), 10).await, TakenEvents::NotYet, "leased");
    assert!(record_fan_out(&db, &new, &deliveries).await);

    let far = now() + Duration::days(1);
    assert_eq!(
        take(&db, far, 10).await,
        TakenEvents::Nothing,
        "nothing after them"
    );
    let listed = db
        .store
        .list_deliveries(app, users.id, &domain::page::PageRequest::largest(None))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(
        listed
            .items
            .iter()
            .all(|delivery| delivery.state == DeliveryState::Succeeded
                && delivery.attempts.len() == 1
                && delivery.attempts[0].status == Some(200)),
        "{listed:?}"
    );
    assert_eq!(db.store.backlog().await.unwrap().pending, 0);

    record(&db, app, 1, true).await;
    let next = taken(&db, far, 10).await;
    assert_eq!(next.events.len(), 1);
    assert!(
        !listed
            .items
            .iter()
            .any(|d| d.event_id == Some(next.events[0].id))
    );
}

async fn a_lease_keeps_new_events_from_other_takers_until_it_ends_and_only_it_moves_past_them(
    db: TestDatabase,
) {
    let app = application(&db.store).await.application.id;
    endpoint(&db, app, &["*"], true).await;
    record(&db, app, 3, true).await;
    let first = taken(&db, now(), 2).await;
    assert_eq!(first.events.len(), 2, "at most the limit");
    assert_eq!(take(&db, now(), 10).await, TakenEvents::NotYet);

    // The lease ran out (its replica died): the next taker takes them again, and the first
    // can no longer record.
    let later = now() + Duration::seconds(60);
    let second = taken(&db, later, 10).await;
    assert_eq!(second.events.len(), 3);
    assert_eq!(second.events[..2], first.events[..]);
    assert!(!record_fan_out(&db, &first, &sent(&first)).await);
    assert!(record_fan_out(&db, &second, &sent(&second)).await);
    assert!(
        !record_fan_out(&db, &second, &[]).await,
        "a lease moves the position once"
    );
    assert_eq!(
        take(&db, later + Duration::days(1), 10).await,
        TakenEvents::Nothing
    );
    let row = db
        .store
        .connection()
        .query_one_raw(Statement::from_string(
            db.store.connection().get_database_backend(),
            "SELECT COUNT(*) AS n FROM webhook_deliveries",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<i64>("", "n").unwrap(),
        3,
        "the lost lease recorded nothing"
    );
}

async fn concurrent_takers_hand_out_each_event_once(db: TestDatabase) {
    const TRANSACTIONS: usize = 10;
    const EVENTS_EACH: usize = 4;
    const TAKERS: usize = 4;
    let app = application(&db.store).await.application.id;
    endpoint(&db, app, &["*"], true).await;
    for _ in 0..TRANSACTIONS {
        record(&db, app, EVENTS_EACH, true).await;
    }
    let db = Arc::new(db);
    let barrier = Arc::new(Barrier::new(TAKERS));
    let tasks: Vec<_> = (0..TAKERS)
        .map(|_| {
            let (db, barrier) = (db.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                loop {
                    match take(&db, now(), 7).await {
                        TakenEvents::Taken(new) => {
                            if record_fan_out(&db, &new, &sent(&new)).await {
                                mine.extend(new.events.iter().map(|event| event.id));
                            }
                        }
                        TakenEvents::Nothing => return mine,
                        // Another taker holds them.
                        TakenEvents::NotYet => tokio::task::yield_now().await,
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), TRANSACTIONS * EVENTS_EACH, "every event taken");
    assert_eq!(distinct.len(), all.len(), "none taken twice");
}

/// PostgreSQL commits transactions in another order than they began writing: an event of
/// a transaction still open holds back those committed after it, so that none is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_events_committed_out_of_order_are_all_taken() {
    let db = adapters_postgres::testing::fresh_postgres()
        .await
        .expect("a PostgreSQL test database");
    let app = application(&db.store).await.application.id;
    endpoint(&db, app, &["*"], true).await;
    let one = || {
        event(
            app,
            EventType::UserCreated,
            Actor::System,
            Uuid::now_v7(),
            now(),
        )
    };
    let (early, late) = (one(), one());
    let mut slow = db.store.begin().await.unwrap();
    slow.record_events(std::slice::from_ref(&early))
        .await
        .unwrap();
    // A read opens the transaction and sends the event held back: written, not committed.
    slow.count_devices(app, domain::values::UserId::generate())
        .await
        .unwrap();
    let mut fast = db.store.begin().await.unwrap();
    fast.record_events(std::slice::from_ref(&late))
        .await
        .unwrap();
    fast.commit().await.unwrap();
    assert_eq!(
        take(&db, now(), 10).await,
        TakenEvents::NotYet,
        "an event committed behind an open transaction waits for it"
    );
    slow.commit().await.unwrap();
    let new = taken(&db, now(), 10).await;
    let ids: Vec<_> = new.events.iter().map(|event| event.id).collect();
    assert_eq!(
        ids,
        [early.id, late.id],
        "both, in commit order of their transactions"
    );
}

async fn a_claim_holds_its_deliveries_until_its_lease_ends_and_only_it_records_an_attempt(
    db: TestDatabase,
) {
    let app = application(&db.store).await.application.id;
    let hooked = endpoint(&db, app, &["*"], true).await;
    queue(&db, &hooked, 1).await;
    let lease = Duration::seconds(60);
    let first = db.store.claim_due(now(), now() + lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        db.store
            .claim_due(now(), now() + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The lease ran out (its replica died): the next claim takes it, and the first claim
    // can no longer record.
    let later = now() + lease;
    let second = db.store.claim_due(later, later + lease, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    let id = first[0].delivery.id;
    let store = &db.store;
    let finish = |lease: Uuid| async move {
        let mut tx = store.begin().await.unwrap();
        let finished = FinishedAttempt {
            delivery: id,
            attempt: attempt(),
            next: NextStep::Done(DeliveryState::Succeeded),
        };
        let recorded = tx.finish_attempts(lease, &[finished]).await.unwrap();
        tx.commit().await.unwrap();
        recorded == [id]
    };
    assert!(!finish(first[0].lease).await);
    assert!(finish(second[0].lease).await);
    assert!(!finish(second[0].lease).await, "a lease records once");
    let listed = db
        .store
        .list_deliveries(app, hooked.id, &domain::page::PageRequest::largest(None))
        .await
        .unwrap();
    assert_eq!(listed.items[0].state, DeliveryState::Succeeded);
    assert_eq!(listed.items[0].attempts.len(), 1);
    assert_eq!(db.store.backlog().await.unwrap().pending, 0);
    let far = now() + Duration::days(1);
    assert!(
        db.store
            .claim_due(far, far + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let mut tx = db.store.begin().await.unwrap();
    let requeued = tx
        .requeue_delivery(app, hooked.id, id, later)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let Requeued::Due(requeued) = requeued else {
        panic!("a finished delivery is requeued");
    };
    assert_eq!(requeued.state, DeliveryState::Pending);
    assert_eq!(requeued.attempts_in_run, 0);
    let again = db.store.claim_due(later, later + lease, 10).await.unwrap();
    assert_eq!(again[0].delivery.message_id, first[0].delivery.message_id);

    let mut tx = db.store.begin().await.unwrap();
    let in_flight = tx
        .requeue_delivery(app, hooked.id, id, later)
        .await
        .unwrap();
    assert_eq!(
        in_flight,
        Some(Requeued::InFlight),
        "a claimed delivery is left to its claim"
    );
}

async fn concurrent_claims_never_take_one_delivery_twice(db: TestDatabase) {
    const DELIVERIES: usize = 40;
    const CLAIMS: usize = 4;
    let app = application(&db.store).await.application.id;
    let hooked = endpoint(&db, app, &["*"], true).await;
    queue(&db, &hooked, DELIVERIES).await;
    let barrier = Arc::new(Barrier::new(CLAIMS));
    let tasks: Vec<_> = (0..CLAIMS)
        .map(|_| {
            let (store, barrier) = (db.store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                loop {
                    let claimed = store
                        .claim_due(now(), now() + Duration::seconds(60), 7)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|claim| claim.delivery.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), DELIVERIES, "every delivery claimed");
    assert_eq!(distinct.len(), DELIVERIES, "none claimed twice");
}

async fn finished_deliveries_are_purged_with_their_attempts_and_pending_ones_kept(
    db: TestDatabase,
) {
    let app = application(&db.store).await.application.id;
    let hooked = endpoint(&db, app, &["*"], true).await;
    queue(&db, &hooked, 3).await;
    let lease = Duration::seconds(60);
    let claimed = db.store.claim_due(now(), now() + lease, 2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let finished: Vec<_> = claimed
        .iter()
        .map(|claim| FinishedAttempt {
            delivery: claim.delivery.id,
            attempt: attempt(),
            next: NextStep::Done(DeliveryState::Succeeded),
        })
        .collect();
    let mut tx = db.store.begin().await.unwrap();
    tx.finish_attempts(claimed[0].lease, &finished)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let too_early = db
        .store
        .delete_finished_before(now() - Duration::hours(1), 1)
        .await;
    assert_eq!(too_early.unwrap(), 0, "queued after the cut-off");
    let later = now() + Duration::hours(1);
    assert_eq!(
        db.store.delete_finished_before(later, 1).await.unwrap(),
        1,
        "one batch"
    );
    assert_eq!(db.store.delete_finished_before(later, 10).await.unwrap(), 1);
    assert_eq!(db.store.delete_finished_before(later, 10).await.unwrap(), 0);
    let left = db
        .store
        .list_deliveries(app, hooked.id, &domain::page::PageRequest::largest(None))
        .await
        .unwrap();
    assert_eq!(left.items.len(), 1, "the pending one stays");
    assert_eq!(left.items[0].state, DeliveryState::Pending);
    let connection = db.store.connection();
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT COUNT(*) AS n FROM webhook_attempts",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<i64>("", "n").unwrap(),
        0,
        "attempts go with their deliveries"
    );
}
