//! Webhook deliveries: queued with their events (the outbox) for subscribed, enabled
//! endpoints only; claimed under a lease that no other claim overlaps, concurrent claims
//! included; recorded only by the claim that holds them.

use super::events::event;
use super::{application, now};
use adapters_postgres::testing::TestDatabase;
use chrono::Duration;
use domain::event::{Actor, EventType};
use domain::ports::{UnitOfWork, WebhookStore};
use domain::values::{ApplicationId, WebhookEndpointId};
use domain::webhook::{
    AttemptOutcome, DeliveryState, EventTypePattern, FinishedAttempt, NextStep, Requeued,
    WebhookAttempt, WebhookEndpoint, WebhookUrl,
};
use sea_orm::{ConnectionTrait as _, Statement};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

crate::on_both_backends!(
    deliveries_are_queued_with_their_events_for_subscribed_enabled_endpoints_only,
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

async fn deliveries_are_queued_with_their_events_for_subscribed_enabled_endpoints_only(
    db: TestDatabase,
) {
    let app = application(&db.store).await.application.id;
    let other = application(&db.store).await.application.id;
    let users = endpoint(&db, app, &["user.*"], true).await;
    endpoint(&db, app, &["license.*"], true).await;
    endpoint(&db, app, &["*"], false).await;
    endpoint(&db, other, &["*"], true).await;

    record(&db, app, 1, false).await;
    let lease = Duration::seconds(60);
    assert!(
        db.store
            .claim_due(now(), now() + lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "a rolled-back event queues nothing"
    );
    record(&db, app, 1, true).await;
    let claimed = db.store.claim_due(now(), now() + lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let claim = &claimed[0];
    assert_eq!(claim.endpoint.id, users.id);
    let event = claim
        .event
        .as_ref()
        .expect("the event comes with its delivery");
    assert_eq!(claim.delivery.message_id, event.id.as_uuid());
    assert_eq!(claim.delivery.message_type, "user.created");
    assert_eq!(db.store.backlog().await.unwrap().pending, 1);
}

async fn a_claim_holds_its_deliveries_until_its_lease_ends_and_only_it_records_an_attempt(
    db: TestDatabase,
) {
    let app = application(&db.store).await.application.id;
    let hooked = endpoint(&db, app, &["*"], true).await;
    record(&db, app, 1, true).await;
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
    endpoint(&db, app, &["*"], true).await;
    record(&db, app, DELIVERIES, true).await;
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
    record(&db, app, 3, true).await;
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
