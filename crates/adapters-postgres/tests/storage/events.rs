//! Events: written with their change's transaction or not at all, listed newest first by
//! filter and cursor, purged past retention, and on PostgreSQL never updated.

use super::{application, new_user, now};
use adapters_postgres::testing::TestDatabase;
use chrono::{DateTime, Duration, Utc};
use domain::event::{
    Actor, ActorFilter, Detail, Event, EventFilter, EventTarget, EventType, RequestContext,
};
use domain::page::PageRequest;
use domain::ports::{EventStore, UnitOfWork};
use domain::values::{ApplicationId, ClientIp, EventId, UserId};
use sea_orm::ConnectionTrait as _;
use uuid::Uuid;

crate::on_both_backends!(
    an_event_commits_with_its_change_and_rolls_back_with_it,
    events_are_listed_newest_first_by_type_actor_target_and_time,
    old_events_are_purged_in_bounded_batches_and_newer_ones_kept,
);

pub(crate) fn event(
    app: ApplicationId,
    event_type: EventType,
    actor: Actor,
    target: Uuid,
    at: DateTime<Utc>,
) -> Event {
    Event {
        id: EventId::generate(),
        application_id: app,
        event_type,
        actor: actor.clone(),
        target: EventTarget {
            kind: "user".into(),
            id: target,
        },
        // The system's own work comes from no request.
        context: (actor != Actor::System).then(|| RequestContext {
            client_ip: ClientIp::parse("203.0.113.7").unwrap(),
            user_agent: Some("latchkey-test/1".into()),
            request_id: Some("req-1".into()),
        }),
        summary: [
            ("username".into(), Detail::Text("alice".into())),
            ("membership_seconds".into(), Detail::Number(86_400)),
            ("lifetime".into(), Detail::Flag(false)),
        ]
        .into(),
        occurred_at: at,
    }
}

async fn all(db: &TestDatabase, app: ApplicationId, filter: &EventFilter) -> Vec<Event> {
    let mut events = Vec::new();
    let mut page = PageRequest::new(None, 2).unwrap();
    loop {
        let listed = EventStore::list(&db.store, app, filter, &page)
            .await
            .unwrap();
        events.extend(listed.items);
        match listed.next {
            Some(cursor) => page = PageRequest::new(Some(cursor), 2).unwrap(),
            None => return events,
        }
    }
}

async fn an_event_commits_with_its_change_and_rolls_back_with_it(db: TestDatabase) {
    let app = application(&db.store).await.application.id;
    let committed = event(
        app,
        EventType::UserCreated,
        Actor::System,
        Uuid::now_v7(),
        now(),
    );
    let mut tx = db.store.begin().await.unwrap();
    let user = tx.create_user(app, &new_user("alice")).await.unwrap();
    let committed = Event {
        actor: Actor::EndUser(user.id),
        ..committed
    };
    tx.record_events(std::slice::from_ref(&committed))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.store.begin().await.unwrap();
    tx.create_user(app, &new_user("bob")).await.unwrap();
    let rolled_back = event(
        app,
        EventType::UserCreated,
        Actor::System,
        Uuid::now_v7(),
        now(),
    );
    tx.record_events(std::slice::from_ref(&rolled_back))
        .await
        .unwrap();
    drop(tx);

    let listed = all(&db, app, &EventFilter::default()).await;
    assert_eq!(
        listed,
        vec![committed],
        "read back whole; the rolled-back one is gone"
    );
}

async fn events_are_listed_newest_first_by_type_actor_target_and_time(db: TestDatabase) {
    let (app, other) = (
        application(&db.store).await.application.id,
        application(&db.store).await.application.id,
    );
    let start = now() - Duration::hours(5);
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let admin = Actor::AdminKey("adm_0123456789ab".into());
    let specs = [
        (
            EventType::UserCreated,
            Actor::EndUser(alice),
            alice.as_uuid(),
        ),
        (EventType::BanCreated, admin.clone(), bob.as_uuid()),
        (EventType::UserCreated, Actor::EndUser(bob), bob.as_uuid()),
        (EventType::BanDeleted, Actor::Operator, bob.as_uuid()),
        (EventType::BanCreated, Actor::System, alice.as_uuid()),
    ];
    let mut recorded = Vec::new();
    for (hour, (event_type, actor, target)) in specs.into_iter().enumerate() {
        let at = start + Duration::hours(i64::try_from(hour).unwrap());
        let event = event(app, event_type, actor, target, at);
        let mut tx = db.store.begin().await.unwrap();
        tx.record_events(std::slice::from_ref(&event))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        recorded.push(event);
    }
    let mut tx = db.store.begin().await.unwrap();
    let elsewhere = event(
        other,
        EventType::UserCreated,
        Actor::System,
        alice.as_uuid(),
        now(),
    );
    tx.record_events(std::slice::from_ref(&elsewhere))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let pick = |indexes: &[usize]| -> Vec<Event> {
        indexes.iter().map(|&i| recorded[i].clone()).collect()
    };
    assert_eq!(
        all(&db, app, &EventFilter::default()).await,
        pick(&[4, 3, 2, 1, 0]),
        "every event of the application once, newest first, across pages of 2"
    );
    let cases = [
        (
            EventFilter {
                event_type: Some(EventType::BanCreated),
                ..EventFilter::default()
            },
            vec![4, 1],
        ),
        (
            EventFilter {
                actor: Some(ActorFilter::parse("end_user")),
                ..EventFilter::default()
            },
            vec![2, 0],
        ),
        (
            EventFilter {
                actor: Some(ActorFilter::parse("adm_0123456789ab")),
                ..EventFilter::default()
            },
            vec![1],
        ),
        (
            EventFilter {
                actor: Some(ActorFilter::parse(&bob.to_string())),
                ..EventFilter::default()
            },
            vec![2],
        ),
        (
            EventFilter {
                target: Some(bob.as_uuid()),
                ..EventFilter::default()
            },
            vec![3, 2, 1],
        ),
        (
            EventFilter {
                since: Some(start + Duration::hours(1)),
                until: Some(start + Duration::hours(3)),
                ..EventFilter::default()
            },
            vec![2, 1],
        ),
        (
            EventFilter {
                event_type: Some(EventType::UserCreated),
                target: Some(alice.as_uuid()),
                ..EventFilter::default()
            },
            vec![0],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(all(&db, app, &filter).await, pick(&expected), "{filter:?}");
    }
    assert_eq!(
        all(&db, other, &EventFilter::default()).await,
        vec![elsewhere]
    );
}

async fn old_events_are_purged_in_bounded_batches_and_newer_ones_kept(db: TestDatabase) {
    let app = application(&db.store).await.application.id;
    let cutoff = now() - Duration::days(180);
    let events: Vec<Event> = [400, 300, 200, 181, 179, 1]
        .into_iter()
        .map(|days| {
            let at = now() - Duration::days(days);
            event(
                app,
                EventType::UserCreated,
                Actor::System,
                Uuid::now_v7(),
                at,
            )
        })
        .collect();
    let mut tx = db.store.begin().await.unwrap();
    tx.record_events(&events).await.unwrap();
    tx.record_events(&[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        all(&db, app, &EventFilter::default()).await.len(),
        6,
        "six in one statement"
    );

    assert_eq!(db.store.delete_older_than(cutoff, 3).await.unwrap(), 3);
    assert_eq!(db.store.delete_older_than(cutoff, 3).await.unwrap(), 1);
    assert_eq!(db.store.delete_older_than(cutoff, 3).await.unwrap(), 0);
    let kept = all(&db, app, &EventFilter::default()).await;
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|event| event.occurred_at >= cutoff));
}

#[tokio::test]
async fn postgresql_refuses_to_update_or_delete_events_outside_the_purge() {
    let db = adapters_postgres::testing::fresh_postgres().await.unwrap();
    let app = application(&db.store).await.application.id;
    let mut tx = db.store.begin().await.unwrap();
    let recorded = event(
        app,
        EventType::BanCreated,
        Actor::Operator,
        Uuid::now_v7(),
        now(),
    );
    tx.record_events(std::slice::from_ref(&recorded))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let connection = db.store.connection();
    for statement in [
        "UPDATE events SET event_type = 'ban.deleted'",
        "UPDATE events SET summary = '{}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let refused = connection.execute_unprepared(statement).await;
        let error = refused.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let listed = all(&db, app, &EventFilter::default()).await;
    assert_eq!(listed, vec![recorded], "the event is as it was recorded");
}
