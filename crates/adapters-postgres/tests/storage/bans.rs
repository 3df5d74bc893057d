//! Bans: found by their keys with one query, expiring, one per target, purged, listed.

use super::{application, license, now};
use adapters_postgres::SeaOrmStore;
use adapters_postgres::testing::TestDatabase;
use chrono::{DateTime, Duration, Utc};
use domain::ban::{BanFilter, BanKind, BanProbe, BanTarget, IpPrefixLengths, NewBan, StoredBan};
use domain::page::PageRequest;
use domain::ports::BanStore;
use domain::values::{ApplicationId, BanId, ClientIp, HardwareId, IpBanRange, LicenseId, UserId};
use std::sync::Arc;
use tokio::sync::Barrier;

crate::on_both_backends!(
    ip_bans_match_addresses_inside_their_range_in_both_families,
    overlapping_ranges_the_whole_space_and_single_addresses_all_match,
    device_license_and_user_bans_match_exactly_and_only_in_their_application,
    a_ban_stops_matching_at_the_instant_it_expires,
    banning_a_banned_target_keeps_its_ban_and_an_expired_one_is_replaced,
    concurrent_bans_of_one_target_store_exactly_one,
    expired_bans_are_deleted_in_bounded_batches_and_others_kept,
    bans_are_listed_newest_first_by_kind_and_value_within_their_application,
    ip_ban_prefix_lengths_are_kept_per_application_and_narrowed_probes_find_every_ban,
);

fn new_ban(target: BanTarget, expires_at: Option<DateTime<Utc>>) -> NewBan {
    NewBan {
        id: BanId::generate(),
        target,
        reason: None,
        created_at: now(),
        expires_at,
    }
}

async fn ban(store: &SeaOrmStore, app: ApplicationId, target: BanTarget) -> BanId {
    let stored = BanStore::create(store, app, &new_ban(target, None), &[]).await;
    stored.unwrap().ban().id
}

fn ip(range: &str) -> BanTarget {
    BanTarget::Ip(IpBanRange::parse(range).unwrap())
}

fn from(address: &str) -> BanProbe {
    BanProbe {
        ip: Some(ClientIp::parse(address).unwrap()),
        ..BanProbe::default()
    }
}

async fn banned(store: &SeaOrmStore, app: ApplicationId, probe: &BanProbe) -> Option<BanKind> {
    store.find_ban(app, probe, now()).await.unwrap()
}

fn lengths(ranges: &[&str]) -> IpPrefixLengths {
    ranges
        .iter()
        .map(|range| IpBanRange::parse(range).unwrap().prefix_length())
        .collect()
}

async fn ip_ban_prefix_lengths_are_kept_per_application_and_narrowed_probes_find_every_ban(
    db: TestDatabase,
) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    assert_eq!(store.ip_prefix_lengths(a).await.unwrap(), lengths(&[]));
    let ranges = [
        "203.0.113.0/24",
        "192.0.2.9",
        "2001:db8::/48",
        "::ffff:198.51.100.0/120",
    ];
    let mut ids = Vec::new();
    for range in ranges {
        ids.push(ban(store, a, ip(range)).await);
    }
    ban(
        store,
        a,
        BanTarget::HardwareId(HardwareId::parse("device-1").unwrap()),
    )
    .await;
    ban(store, a, ip("192.0.2.9")).await; // banned already: no new length
    ban(store, b, ip("10.0.0.0/8")).await;

    let of_a = store.ip_prefix_lengths(a).await.unwrap();
    assert_eq!(of_a, lengths(&ranges), "IPv4 /24 and /32, IPv6 /48");
    assert_eq!(of_a.len(), 3, "the IPv4-mapped /120 is an IPv4 /24");
    assert_eq!(
        store.ip_prefix_lengths(b).await.unwrap(),
        lengths(&["10.0.0.0/8"])
    );

    for address in [
        "203.0.113.77",
        "203.0.114.1",
        "192.0.2.9",
        "192.0.2.10",
        "198.51.100.3",
        "2001:db8:0:1::5",
        "2001:db8:1::",
        "10.1.2.3",
        "::1",
    ] {
        let narrowed = BanProbe {
            ip_prefix_lengths: Some(of_a.clone()),
            ..from(address)
        };
        assert_eq!(
            banned(store, a, &narrowed).await,
            banned(store, a, &from(address)).await,
            "{address}: the narrowed probe finds what the full one finds"
        );
    }

    for id in ids {
        assert!(store.delete(a, id, &[]).await.unwrap());
    }
    assert_eq!(
        store.ip_prefix_lengths(a).await.unwrap(),
        of_a,
        "lengths stay when their bans go: a superset is still exact"
    );
}

async fn ip_bans_match_addresses_inside_their_range_in_both_families(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    for range in ["203.0.113.0/24", "2001:db8::/32", "192.0.2.9", "::/64"] {
        ban(store, app, ip(range)).await;
    }
    let cases = [
        ("203.0.113.0", true),
        ("203.0.113.255", true),
        ("::ffff:203.0.113.77", true),
        ("203.0.114.0", false),
        ("2001:db8:1234::5", true),
        ("2001:db9::", false),
        ("192.0.2.9", true),
        ("192.0.2.10", false),
        ("10.1.2.3", false),
        ("::10.1.2.3", true),
    ];
    for (address, expected) in cases {
        let found = banned(store, app, &from(address)).await;
        assert_eq!(found == Some(BanKind::Ip), expected, "{address}");
    }
}

async fn overlapping_ranges_the_whole_space_and_single_addresses_all_match(db: TestDatabase) {
    let store = &db.store;
    let (nested, whole) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    for range in [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.3/32",
        "2001:db8::1/128",
    ] {
        ban(store, nested, ip(range)).await;
    }
    for (address, expected) in [
        ("10.1.2.3", true),
        ("10.1.9.9", true),
        ("10.200.0.1", true),
        ("11.0.0.0", false),
        ("2001:db8::1", true),
        ("2001:db8::2", false),
    ] {
        let found = banned(store, nested, &from(address)).await;
        assert_eq!(found.is_some(), expected, "{address}");
    }
    ban(store, whole, ip("0.0.0.0/0")).await;
    assert!(
        banned(store, whole, &from("255.255.255.255"))
            .await
            .is_some()
    );
    assert!(
        banned(store, whole, &from("::ffff:1.2.3.4"))
            .await
            .is_some()
    );
    assert!(
        banned(store, whole, &from("::1")).await.is_none(),
        "/0 of IPv4 holds no IPv6 address"
    );
}

async fn device_license_and_user_bans_match_exactly_and_only_in_their_application(
    db: TestDatabase,
) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let license_id = license(store, a, "BANNED-LICENSE").await;
    let user_id = UserId::generate();
    let device = BanTarget::HardwareId(HardwareId::parse("Device-1").unwrap());
    ban(store, a, device).await;
    ban(store, a, BanTarget::License(license_id)).await;
    ban(store, a, BanTarget::User(user_id)).await;
    let hw = |id: &str| BanProbe {
        hardware_id: Some(HardwareId::parse(id).unwrap()),
        ..BanProbe::default()
    };
    assert_eq!(
        banned(store, a, &hw("Device-1")).await,
        Some(BanKind::HardwareId)
    );
    assert_eq!(banned(store, a, &hw("device-1")).await, None, "exactly");
    assert_eq!(
        banned(store, b, &hw("Device-1")).await,
        None,
        "another application's ban"
    );
    let by_license = BanProbe {
        license: Some(license_id),
        ..BanProbe::default()
    };
    assert_eq!(banned(store, a, &by_license).await, Some(BanKind::License));
    let by_user = BanProbe {
        user: Some(user_id),
        ..BanProbe::default()
    };
    assert_eq!(banned(store, a, &by_user).await, Some(BanKind::User));
    let clean = BanProbe {
        ip: Some(ClientIp::parse("10.0.0.1").unwrap()),
        hardware_id: Some(HardwareId::parse("Device-2").unwrap()),
        license: Some(LicenseId::generate()),
        user: Some(UserId::generate()),
        ip_prefix_lengths: None,
    };
    assert_eq!(banned(store, a, &clean).await, None);
    assert_eq!(banned(store, a, &BanProbe::default()).await, None);
}

async fn a_ban_stops_matching_at_the_instant_it_expires(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let ends = now() + Duration::minutes(10);
    let stored = store
        .create(app, &new_ban(ip("198.51.100.7"), Some(ends)), &[])
        .await
        .unwrap();
    assert_eq!(stored.ban().expires_at, Some(ends));
    let probe = from("198.51.100.7");
    let just_before = ends - Duration::microseconds(1);
    assert_eq!(
        store.find_ban(app, &probe, just_before).await.unwrap(),
        Some(BanKind::Ip)
    );
    assert_eq!(store.find_ban(app, &probe, ends).await.unwrap(), None);
    let listed_at = |at| BanFilter {
        kind: None,
        match_keys: None,
        now: at,
    };
    let list = |at| async move {
        BanStore::list(store, app, &listed_at(at), &PageRequest::first())
            .await
            .unwrap()
            .items
            .len()
    };
    assert_eq!(list(just_before).await, 1);
    assert_eq!(list(ends).await, 0, "an expired ban is not listed");
}

async fn banning_a_banned_target_keeps_its_ban_and_an_expired_one_is_replaced(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let first = new_ban(ip("198.51.100.0/24"), None);
    assert_eq!(
        store.create(app, &first, &[]).await.unwrap(),
        StoredBan::Created(first.created())
    );
    let again = NewBan {
        reason: Some("again".into()),
        ..new_ban(ip("198.51.100.1/24"), None)
    };
    assert_eq!(
        store.create(app, &again, &[]).await.unwrap(),
        StoredBan::Existing(first.created()),
        "the same range, written differently"
    );

    let device = || BanTarget::HardwareId(HardwareId::parse("hw-expiring").unwrap());
    let expired = NewBan {
        created_at: now() - Duration::hours(2),
        ..new_ban(device(), Some(now() - Duration::hours(1)))
    };
    store.create(app, &expired, &[]).await.unwrap();
    let renewed = new_ban(device(), None);
    assert_eq!(
        store.create(app, &renewed, &[]).await.unwrap(),
        StoredBan::Created(renewed.created()),
        "an expired ban gives way"
    );
    let listed = BanStore::list(
        store,
        app,
        &BanFilter {
            kind: Some(BanKind::HardwareId),
            match_keys: None,
            now: now(),
        },
        &PageRequest::first(),
    )
    .await
    .unwrap();
    assert_eq!(listed.items, vec![renewed.created()]);
}

async fn concurrent_bans_of_one_target_store_exactly_one(db: TestDatabase) {
    let store = Arc::new(db.store.clone());
    let app = application(&store).await.application.id;
    let tasks = 16;
    let barrier = Arc::new(Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let ban = new_ban(ip("203.0.113.50"), None);
                barrier.wait().await;
                store.create(app, &ban, &[]).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    let created: Vec<_> = outcomes
        .iter()
        .filter(|stored| matches!(stored, StoredBan::Created(_)))
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    let id = created[0].ban().id;
    assert!(outcomes.iter().all(|stored| stored.ban().id == id));
}

async fn expired_bans_are_deleted_in_bounded_batches_and_others_kept(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let at = now();
    let bans = [
        ("1.0.0.1", Some(at - Duration::hours(2))),
        ("1.0.0.2", Some(at - Duration::minutes(1))),
        ("1.0.0.3", Some(at)),
        ("1.0.0.4", Some(at + Duration::minutes(1))),
        ("1.0.0.5", None),
    ];
    for (address, expires_at) in bans {
        let ban = NewBan {
            created_at: at - Duration::hours(3),
            ..new_ban(ip(address), expires_at)
        };
        store.create(app, &ban, &[]).await.unwrap();
    }
    assert_eq!(store.delete_expired(at, 2).await.unwrap(), 2, "one batch");
    assert_eq!(store.delete_expired(at, 2).await.unwrap(), 1);
    assert_eq!(store.delete_expired(at, 2).await.unwrap(), 0);
    let everything = BanFilter {
        kind: None,
        match_keys: None,
        now: at - Duration::days(1),
    };
    let left = BanStore::list(store, app, &everything, &PageRequest::first())
        .await
        .unwrap();
    let left: Vec<_> = left.items.iter().map(|ban| ban.target.value()).collect();
    assert_eq!(left, vec!["1.0.0.5", "1.0.0.4"]);
}

async fn bans_are_listed_newest_first_by_kind_and_value_within_their_application(db: TestDatabase) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let targets = [
        ip("10.0.0.0/8"),
        BanTarget::HardwareId(HardwareId::parse("1.2.3.4").unwrap()),
        ip("1.2.3.4"),
        BanTarget::User(UserId::generate()),
        ip("2001:db8::/48"),
    ];
    let mut ids = Vec::new();
    for target in targets.clone() {
        ids.push(ban(store, a, target).await);
    }
    let list = |kind, value: Option<&str>, page: PageRequest| {
        let match_keys = value.map(|value| {
            BanTarget::shown_as(kind, value)
                .iter()
                .map(BanTarget::match_key)
                .collect()
        });
        let filter = BanFilter {
            kind,
            match_keys,
            now: now(),
        };
        async move { BanStore::list(store, a, &filter, &page).await.unwrap() }
    };
    let newest_two = list(None, None, PageRequest::new(None, 2).unwrap()).await;
    assert_eq!(
        newest_two
            .items
            .iter()
            .map(|ban| ban.id)
            .collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let rest = list(None, None, PageRequest::new(newest_two.next, 10).unwrap()).await;
    assert_eq!(
        rest.items.iter().map(|ban| ban.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1], ids[0]]
    );
    assert_eq!(rest.next, None);

    let ips = list(Some(BanKind::Ip), None, PageRequest::first()).await;
    assert_eq!(ips.items.len(), 3);
    let by_value = list(None, Some("1.2.3.4"), PageRequest::first()).await;
    assert_eq!(
        by_value.items.iter().map(|ban| ban.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]],
        "an address and a hardware id written alike"
    );
    let canonical = list(
        Some(BanKind::Ip),
        Some("::ffff:1.2.3.4"),
        PageRequest::first(),
    )
    .await;
    assert_eq!(canonical.items.len(), 1);
    let nothing = list(
        Some(BanKind::Ip),
        Some("not an address"),
        PageRequest::first(),
    )
    .await;
    assert!(nothing.items.is_empty());

    let in_b = BanStore::list(
        store,
        b,
        &BanFilter {
            kind: None,
            match_keys: None,
            now: now(),
        },
        &PageRequest::first(),
    )
    .await
    .unwrap();
    assert!(in_b.items.is_empty());
    assert!(
        !store.delete(b, ids[0], &[]).await.unwrap(),
        "another application cannot delete it"
    );
    assert!(store.delete(a, ids[0], &[]).await.unwrap());
}

#[tokio::test]
async fn postgresql_bans_stored_before_the_key_migration_are_found_after_it() {
    let url = adapters_postgres::testing::empty_postgres().await.unwrap();
    bans_stored_before_the_key_migration_are_found_after_it(url).await;
}

#[tokio::test]
async fn sqlite_bans_stored_before_the_key_migration_are_found_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    bans_stored_before_the_key_migration_are_found_after_it(url).await;
}

/// Bans as the schema before migration 5 stored them (range bounds, unprefixed keys, a
/// duplicate) are found by their new keys after it, each target once.
async fn bans_stored_before_the_key_migration_are_found_after_it(url: String) {
    use adapters_postgres::DatabaseSettings;
    use domain::license::LicenseFilter;
    use domain::ports::LicenseStore;
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};

    let store = SeaOrmStore::connect(&DatabaseSettings::new(url))
        .await
        .unwrap();
    let db = store.connection();
    Migrator::up(db, Some(4)).await.unwrap();
    // The application as the schema of then stored it.
    let app = ApplicationId::generate();
    let insert = Query::insert()
        .into_table(Alias::new("applications"))
        .columns(
            [
                "id",
                "name",
                "device_authentication",
                "api_key",
                "api_secret_digest",
                "admin_api_key_digest",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            app.as_uuid().into(),
            "Old App".into(),
            true.into(),
            "lk_app_old".into(),
            vec![1_u8; 32].into(),
            vec![2_u8; 32].into(),
            now().into(),
        ])
        .to_owned();
    db.execute_raw(db.get_database_backend().build(&insert))
        .await
        .unwrap();
    let banned_license = license(&store, app, "OLD-BANNED").await;
    let user = UserId::generate();
    let old = [
        ("ip", "203.0.113.0/24".to_owned(), None, 3),
        ("ip", "192.0.2.7".to_owned(), None, 2),
        ("ip", "192.0.2.7".to_owned(), None, 1),
        ("ip", "2001:db8::1".to_owned(), None, 1),
        (
            "hardware_id",
            "Device-1".to_owned(),
            Some("Device-1".to_owned()),
            1,
        ),
        (
            "license",
            banned_license.to_string(),
            Some(banned_license.to_string()),
            1,
        ),
        ("user", user.to_string(), Some(user.to_string()), 1),
    ];
    for (kind, value, match_key, hours_ago) in old {
        let insert = Query::insert()
            .into_table(Alias::new("bans"))
            .columns(
                [
                    "id",
                    "application_id",
                    "kind",
                    "value",
                    "match_key",
                    "created_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                uuid::Uuid::now_v7().into(),
                app.as_uuid().into(),
                kind.into(),
                value.into(),
                match_key.into(),
                (now() - Duration::hours(hours_ago)).into(),
            ])
            .to_owned();
        let statement = db.get_database_backend().build(&insert);
        db.execute_raw(statement).await.unwrap();
    }
    Migrator::up(db, None).await.unwrap();

    for address in ["203.0.113.9", "192.0.2.7", "2001:db8::1"] {
        assert_eq!(
            banned(&store, app, &from(address)).await,
            Some(BanKind::Ip),
            "{address}"
        );
    }
    assert_eq!(banned(&store, app, &from("192.0.2.8")).await, None);
    let probe = BanProbe {
        hardware_id: Some(HardwareId::parse("Device-1").unwrap()),
        license: Some(banned_license),
        user: Some(user),
        ..BanProbe::default()
    };
    for kind in [BanKind::HardwareId, BanKind::License, BanKind::User] {
        let only = |k| (k == kind).then_some(());
        let probe = BanProbe {
            ip: None,
            hardware_id: only(BanKind::HardwareId).and(probe.hardware_id.clone()),
            license: only(BanKind::License).and(probe.license),
            user: only(BanKind::User).and(probe.user),
            ..BanProbe::default()
        };
        assert_eq!(banned(&store, app, &probe).await, Some(kind));
    }
    let all = BanFilter {
        kind: None,
        match_keys: None,
        now: now(),
    };
    let listed = BanStore::list(&store, app, &all, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 6, "the duplicate is folded into one");
    let banned_licenses = LicenseFilter {
        used: None,
        banned: Some(true),
        created_since: None,
        created_until: None,
        code: None,
        now: now(),
    };
    let page = LicenseStore::list(&store, app, &banned_licenses, &PageRequest::first())
        .await
        .unwrap();
    assert_eq!(
        page.items.len(),
        1,
        "the license ban names its license by id"
    );
    assert_eq!(page.items[0].license.id, banned_license);

    assert_eq!(
        store.ip_prefix_lengths(app).await.unwrap(),
        lengths(&["203.0.113.0/24", "192.0.2.7", "2001:db8::1"]),
        "the lengths of the bans stored before migration 9"
    );
    let narrowed = BanProbe {
        ip_prefix_lengths: Some(store.ip_prefix_lengths(app).await.unwrap()),
        ..from("203.0.113.9")
    };
    assert_eq!(banned(&store, app, &narrowed).await, Some(BanKind::Ip));
}
