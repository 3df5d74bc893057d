//! What the console's license and user screens read and change beyond the admin API: the
//! prefix search of usernames, the ledger, live sessions, and deleting users and licenses.

use super::{application, license, new_user, now};
use adapters_postgres::testing::TestDatabase;
use domain::event::{ChangedBy, EventFilter, EventTarget, EventType};
use domain::page::PageRequest;
use domain::ports::{EventStore, LicenseStore, SessionStore, UnitOfWork, UserStore};
use domain::session::NewSession;
use domain::user::{Adjustment, AdjustmentKind, Membership};
use domain::values::{
    AdjustmentId, ApplicationId, Digest, HardwareId, LicenseId, SessionId, UserId,
};

crate::on_both_backends!(
    usernames_are_searched_by_canonical_prefix_in_code_point_order_by_pages,
    the_ledger_lists_adjustments_newest_first_with_their_reason,
    deleting_a_user_removes_their_rows_keeps_their_licenses_and_records_the_event,
    only_unused_licenses_are_deleted_and_only_then_is_the_event_recorded,
);

async fn create_user(
    store: &adapters_postgres::SeaOrmStore,
    app: ApplicationId,
    name: &str,
) -> UserId {
    let user = new_user(name);
    let mut tx = store.begin().await.unwrap();
    tx.create_user(app, &user).await.unwrap();
    tx.commit().await.unwrap();
    user.id
}

fn by() -> ChangedBy {
    ChangedBy::system()
}

async fn usernames_are_searched_by_canonical_prefix_in_code_point_order_by_pages(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let other = application(store).await.application.id;
    for name in ["alicia", "Alice", "ali_x", "albert", "bob", "Ali-Baba"] {
        create_user(store, app, name).await;
    }
    create_user(store, other, "alice").await;

    let mut seen = Vec::new();
    let mut page = PageRequest::new(None, 2).unwrap();
    loop {
        let found = store.search(app, "ali", &page).await.unwrap();
        assert!(found.items.len() <= 2);
        seen.extend(found.items.into_iter().map(|user| user.username));
        let Some(next) = found.next else { break };
        page = PageRequest::new(Some(next), 2).unwrap();
    }
    // By canonical name, by code point: '-' < '_' < 'c'.
    assert_eq!(seen, ["Ali-Baba", "ali_x", "Alice", "alicia"]);
    let some: Vec<UserId> = store
        .search(app, "ali", &PageRequest::first())
        .await
        .unwrap()
        .items
        .iter()
        .map(|user| user.id)
        .collect();
    let stranger = create_user(store, other, "stranger").await;
    let mut asked = some.clone();
    asked.extend([stranger, UserId::generate()]);
    let mut got: Vec<UserId> = UserStore::find_many(store, app, &asked)
        .await
        .unwrap()
        .into_iter()
        .map(|user| user.id)
        .collect();
    got.sort_by_key(|id| id.as_uuid());
    let mut expected = some;
    expected.sort_by_key(|id| id.as_uuid());
    assert_eq!(
        got, expected,
        "only this application's users, unknown ids left out"
    );
    let none = store
        .search(app, "zz", &PageRequest::first())
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
    let exact = store
        .search(app, "bob", &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 1);
}

async fn the_ledger_lists_adjustments_newest_first_with_their_reason(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let user = create_user(store, app, "ledgered").await;
    let other = create_user(store, app, "unrelated").await;
    for (target, minutes, reason) in [
        (user, 60, None),
        (other, 5, None),
        (user, -30, Some("refund")),
        (user, 15, Some("outage")),
    ] {
        let adjustment = Adjustment {
            id: AdjustmentId::generate(),
            kind: AdjustmentKind::Admin,
            occurred_at: now(),
            minutes,
            grants_lifetime_access: false,
            revokes_lifetime_access: false,
            license_id: None,
            reason: reason.map(str::to_owned),
        };
        let mut tx = store.begin().await.unwrap();
        tx.adjust_membership(app, target, Membership::default(), &adjustment)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let first = store
        .ledger(app, user, &PageRequest::new(None, 2).unwrap())
        .await
        .unwrap();
    let shown: Vec<_> = first
        .items
        .iter()
        .map(|row| (row.minutes, row.reason.clone()))
        .collect();
    assert_eq!(
        shown,
        [
            (15, Some("outage".to_owned())),
            (-30, Some("refund".to_owned()))
        ]
    );
    let rest = store
        .ledger(app, user, &PageRequest::new(first.next, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].minutes, 60);
    assert_eq!(rest.items[0].reason, None);
    assert!(rest.next.is_none());
}

async fn deleting_a_user_removes_their_rows_keeps_their_licenses_and_records_the_event(
    db: TestDatabase,
) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let user = create_user(store, app, "leaving").await;
    let license_id = license(store, app, "GONE-USER").await;
    let mut tx = store.begin().await.unwrap();
    tx.claim_license(app, license_id, user, now())
        .await
        .unwrap();
    tx.register_device(app, user, &HardwareId::parse("hw-1").unwrap(), now())
        .await
        .unwrap();
    tx.create_session(
        app,
        &NewSession {
            id: SessionId::generate(),
            token_digest: Digest::of("a session token"),
            user,
            device: None,
            created_at: now(),
            expires_at: now() + chrono::Duration::hours(1),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.count_live(app, user, now()).await.unwrap(), 1);

    let event = by().event(app, EventType::UserDeleted, EventTarget::user(user), now());
    assert!(
        !UserStore::delete(
            store,
            other_app(store).await,
            user,
            std::slice::from_ref(&event)
        )
        .await
        .unwrap(),
        "another application's user is not deleted"
    );
    assert!(
        UserStore::delete(store, app, user, std::slice::from_ref(&event))
            .await
            .unwrap()
    );
    assert!(UserStore::get(store, app, user).await.unwrap().is_none());
    assert_eq!(store.count_live(app, user, now()).await.unwrap(), 0);
    let kept = store.get_many(app, &[license_id]).await.unwrap();
    assert_eq!(kept.len(), 1, "the used license stays");
    assert!(kept[0].is_used() && kept[0].activated_by.is_none());
    assert!(!UserStore::delete(store, app, user, &[event]).await.unwrap());
    let events = EventStore::list(store, app, &EventFilter::default(), &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(
        events
            .items
            .iter()
            .filter(|event| event.event_type == EventType::UserDeleted)
            .count(),
        1,
        "recorded once, with the deletion that happened"
    );
}

async fn other_app(store: &adapters_postgres::SeaOrmStore) -> ApplicationId {
    application(store).await.application.id
}

async fn only_unused_licenses_are_deleted_and_only_then_is_the_event_recorded(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let unused = license(store, app, "DEL-UNUSED").await;
    let used = license(store, app, "DEL-USED").await;
    let user = create_user(store, app, "redeemer").await;
    let mut tx = store.begin().await.unwrap();
    tx.claim_license(app, used, user, now()).await.unwrap();
    tx.commit().await.unwrap();
    let elsewhere = other_app(store).await;
    let found = store
        .get_many(app, &[unused, used, LicenseId::generate()])
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert!(
        store
            .get_many(elsewhere, &[unused])
            .await
            .unwrap()
            .is_empty()
    );

    let event = |id| {
        by().event(
            app,
            EventType::LicenseDeleted,
            EventTarget::license(id),
            now(),
        )
    };
    assert!(
        !store
            .delete_unused(elsewhere, unused, &[event(unused)])
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_unused(app, used, &[event(used)])
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_unused(app, unused, &[event(unused)])
            .await
            .unwrap()
    );
    assert_eq!(store.get_many(app, &[unused, used]).await.unwrap().len(), 1);
    let events = EventStore::list(store, app, &EventFilter::default(), &PageRequest::first())
        .await
        .unwrap();
    let deleted: Vec<_> = events
        .items
        .iter()
        .filter(|event| event.event_type == EventType::LicenseDeleted)
        .map(|event| event.target.id)
        .collect();
    assert_eq!(deleted, [unused.as_uuid()]);
}
