//! Cursor pages of users, licenses and applications: newest first, nothing skipped or
//! repeated while rows are added, and the license filters.

use super::{application, license, new_user, now};
use adapters_postgres::testing::TestDatabase;
use chrono::Duration;
use domain::ban::{BanTarget, NewBan};
use domain::license::LicenseFilter;
use domain::page::{Page, PageRequest};
use domain::ports::{ApplicationStore, BanStore, LicenseStore, UnitOfWork, UserStore};
use domain::values::{ApplicationId, BanId, LicenseCode, LicenseId, UserId};
use std::collections::HashSet;

crate::on_both_backends!(
    users_page_newest_first_and_rows_added_meanwhile_shift_nothing,
    licenses_are_filtered_by_use_ban_creation_time_and_code,
    applications_page_newest_first,
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

async fn users_page_newest_first_and_rows_added_meanwhile_shift_nothing(db: TestDatabase) {
    let store = &db.store;
    let (app, other) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let mut before = Vec::new();
    for n in 0..7 {
        before.push(create_user(store, app, &format!("user_{n}")).await);
    }
    create_user(store, other, "someone_else").await;

    let mut seen = Vec::new();
    let mut page = PageRequest::new(None, 3).unwrap();
    let mut added = 0;
    loop {
        let Page { items, next } = UserStore::list(store, app, &page).await.unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|user| user.id));
        // Sign-ups between pages: newer than every cursor, so they never shift a page.
        create_user(store, app, &format!("added_{added}")).await;
        added += 1;
        let Some(next) = next else { break };
        page = PageRequest::new(Some(next), 3).unwrap();
    }
    before.reverse();
    assert_eq!(
        seen, before,
        "every user once, newest first, none added later"
    );
    assert_eq!(
        UserStore::list(store, app, &PageRequest::first())
            .await
            .unwrap()
            .items
            .len(),
        7 + added
    );
}

async fn licenses_are_filtered_by_use_ban_creation_time_and_code(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let codes = ["LIST-A", "LIST-B", "LIST-C", "LIST-D"];
    let mut ids = Vec::new();
    for code in codes {
        ids.push(license(store, app, code).await);
    }
    // B is used, C is banned, D was banned until an hour ago.
    let user = new_user("redeemer");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(app, &user).await.unwrap();
    tx.claim_license(app, ids[1], user.id, now()).await.unwrap();
    tx.commit().await.unwrap();
    let ban = |id: LicenseId, expires_at| NewBan {
        id: BanId::generate(),
        target: BanTarget::License(id),
        reason: None,
        created_at: now() - Duration::hours(2),
        expires_at,
    };
    BanStore::create(store, app, &ban(ids[2], None), &[])
        .await
        .unwrap();
    let lapsed = ban(ids[3], Some(now() - Duration::hours(1)));
    BanStore::create(store, app, &lapsed, &[]).await.unwrap();

    let everything = LicenseFilter {
        used: None,
        banned: None,
        created_since: None,
        created_until: None,
        code: None,
        now: now(),
    };
    let listed = |filter: LicenseFilter| async move {
        let page = LicenseStore::list(store, app, &filter, &PageRequest::first())
            .await
            .unwrap();
        page.items
            .iter()
            .map(|details| (details.license.id, details.is_banned))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(everything.clone()).await,
        vec![
            (ids[3], false),
            (ids[2], true),
            (ids[1], false),
            (ids[0], false)
        ]
    );
    let ids_of = |listed: Vec<(LicenseId, bool)>| {
        listed.into_iter().map(|(id, _)| id).collect::<HashSet<_>>()
    };
    let used = LicenseFilter {
        used: Some(true),
        ..everything.clone()
    };
    assert_eq!(ids_of(listed(used).await), HashSet::from([ids[1]]));
    let unused = LicenseFilter {
        used: Some(false),
        ..everything.clone()
    };
    assert_eq!(
        ids_of(listed(unused).await),
        HashSet::from([ids[0], ids[2], ids[3]])
    );
    let banned = LicenseFilter {
        banned: Some(true),
        ..everything.clone()
    };
    assert_eq!(ids_of(listed(banned).await), HashSet::from([ids[2]]));
    let not_banned = LicenseFilter {
        banned: Some(false),
        ..everything.clone()
    };
    assert_eq!(
        ids_of(listed(not_banned).await),
        HashSet::from([ids[0], ids[1], ids[3]])
    );
    let by_code = LicenseFilter {
        code: Some(LicenseCode::parse("list c").unwrap()),
        ..everything.clone()
    };
    assert_eq!(listed(by_code).await, vec![(ids[2], true)]);
    let future = LicenseFilter {
        created_since: Some(now() + Duration::minutes(1)),
        ..everything.clone()
    };
    assert!(listed(future).await.is_empty());
    let past = LicenseFilter {
        created_since: Some(now() - Duration::hours(1)),
        created_until: Some(now() + Duration::minutes(1)),
        ..everything
    };
    assert_eq!(listed(past).await.len(), 4);
}

async fn applications_page_newest_first(db: TestDatabase) {
    let store = &db.store;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(application(store).await.application.id);
    }
    let first = ApplicationStore::list(store, &PageRequest::new(None, 2).unwrap())
        .await
        .unwrap();
    let second = ApplicationStore::list(store, &PageRequest::new(first.next, 2).unwrap())
        .await
        .unwrap();
    let listed: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|app| app.id)
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);
    assert_eq!(second.next, None);
}
