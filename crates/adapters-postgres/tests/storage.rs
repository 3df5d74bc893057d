//! The storage adapter against real databases: every test runs on PostgreSQL and on SQLite,
//! each on a fresh, migrated database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_postgres::SeaOrmStore;
use adapters_postgres::testing::{TestDatabase, fresh_postgres, fresh_sqlite};
use chrono::{DateTime, Utc};
use domain::application::{ApplicationName, CreatedApplication};
use domain::ban::{BanKind, BanProbe, BanTarget, NewBan};
use domain::errors::{CreateUserError, StoreLicensesError};
use domain::license::{LicenseDuration, NewLicense};
use domain::ports::{
    ApplicationStore, BanStore, Clock, LicenseStore, SessionStore, SystemClock, UnitOfWork,
    UserStore,
};
use domain::user::{Adjustment, AdjustmentKind, Credential, Membership, NewUser};
use domain::values::{
    ApplicationId, BanId, ClientIp, HardwareId, IpBanRange, LicenseCode, LicenseId, UserId,
    Username,
};
use sea_orm::{ConnectionTrait as _, Statement};
use std::sync::Arc;
use tokio::sync::Barrier;

/// Runs each named test body on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(super::fresh_postgres().await.expect("a PostgreSQL test database")).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(super::fresh_sqlite().await.expect("a SQLite test database")).await;
            })*
        }
    };
}

on_both_backends!(
    applications_are_found_by_api_key_and_admin_key_digest,
    usernames_are_unique_per_application_on_their_canonical_form,
    concurrent_sign_ups_of_one_canonical_name_create_exactly_one_user,
    concurrent_redemptions_of_one_code_have_exactly_one_winner,
    an_uncommitted_sign_up_leaves_no_user_and_the_code_unused,
    membership_ledger_rows_are_written_with_or_without_a_membership_update,
    expired_sessions_are_deleted_in_bounded_batches_and_others_kept,
    license_codes_are_scoped_by_application_and_unique_within_one,
    ip_bans_match_addresses_inside_their_range_in_both_families,
    device_license_and_user_bans_match_exactly_and_only_in_their_application,
    bans_are_listed_and_deleted_within_their_application,
    no_secret_or_code_is_stored_in_plaintext,
);

fn now() -> DateTime<Utc> {
    SystemClock.now()
}

async fn application(store: &SeaOrmStore) -> CreatedApplication {
    let created = CreatedApplication::generate(ApplicationName::parse("App").unwrap(), true, now());
    ApplicationStore::create(store, &created.application)
        .await
        .unwrap();
    created
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        username: Username::parse(name).unwrap(),
        credential: Credential::LicenseCode,
        membership: Membership::default(),
        signup_ip: ClientIp::parse("198.51.100.1").unwrap(),
        created_at: now(),
    }
}

async fn license(store: &SeaOrmStore, app: ApplicationId, code: &str) -> LicenseId {
    let new = NewLicense {
        id: LicenseId::generate(),
        code: LicenseCode::parse(code).unwrap(),
        duration: LicenseDuration::Minutes(60),
        created_at: now(),
    };
    store.create_many(app, &[new]).await.unwrap().remove(0).id
}

async fn ban(store: &SeaOrmStore, app: ApplicationId, target: BanTarget) -> BanId {
    let ban = NewBan {
        id: BanId::generate(),
        target,
        reason: None,
        created_at: now(),
    };
    BanStore::create(store, app, &ban).await.unwrap().id
}

async fn applications_are_found_by_api_key_and_admin_key_digest(db: TestDatabase) {
    let store = &db.store;
    let created = application(store).await;
    let app = &created.application;
    let by_key = store.find_by_api_key(&app.api_key).await.unwrap();
    assert_eq!(by_key.as_ref(), Some(app));
    let by_admin = store
        .find_by_admin_key(&created.admin_api_key.digest())
        .await
        .unwrap();
    assert_eq!(by_admin.as_ref(), Some(app));
    assert_eq!(store.find_by_api_key("lk_app_unknown").await.unwrap(), None);
    assert_eq!(
        ApplicationStore::list(store).await.unwrap(),
        vec![app.clone()]
    );
}

async fn usernames_are_unique_per_application_on_their_canonical_form(db: TestDatabase) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let mut tx = store.begin().await.unwrap();
    tx.create_user(a, &new_user("Alice")).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let taken = tx.create_user(a, &new_user("ＡＬＩＣＥ")).await;
    assert!(
        matches!(taken, Err(CreateUserError::UsernameTaken)),
        "{taken:?}"
    );
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    tx.create_user(b, &new_user("alice")).await.unwrap();
    tx.commit().await.unwrap();

    let found = store
        .find_by_username(a, &Username::parse("aLiCe").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.username, "Alice", "stored as first given");
}

async fn concurrent_sign_ups_of_one_canonical_name_create_exactly_one_user(db: TestDatabase) {
    let store = Arc::new(db.store.clone());
    let app = application(&store).await.application.id;
    let barrier = Arc::new(Barrier::new(24));
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let user = new_user(if i % 2 == 0 { "name" } else { "NAME" });
                barrier.wait().await;
                let mut tx = store.begin().await?;
                match tx.create_user(app, &user).await {
                    Ok(_) => tx.commit().await.map(|()| true),
                    Err(CreateUserError::UsernameTaken) => Ok(false),
                    Err(CreateUserError::Unknown(error)) => Err(error),
                }
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(created, 1);
}

async fn concurrent_redemptions_of_one_code_have_exactly_one_winner(db: TestDatabase) {
    let store = Arc::new(db.store.clone());
    let app = application(&store).await.application.id;
    license(&store, app, "RACE-CODE-0001").await;
    let barrier = Arc::new(Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let user = new_user(&format!("racer{i}"));
                let code = LicenseCode::parse("race-code-0001").unwrap();
                barrier.wait().await;
                let mut tx = store.begin().await?;
                tx.create_user(app, &user).await?;
                let won = tx
                    .redeem_license(app, &code, user.id, now())
                    .await?
                    .is_some();
                if won {
                    tx.commit().await?;
                }
                anyhow::Ok(won)
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);
    let code = LicenseCode::parse("RACECODE0001").unwrap();
    let stored = store.find_by_code(app, &code).await.unwrap().unwrap();
    let winner = stored.activated_by.expect("the license records its user");
    assert!(
        UserStore::get(&*store, app, winner)
            .await
            .unwrap()
            .is_some(),
        "the winner's user was committed"
    );
}

async fn an_uncommitted_sign_up_leaves_no_user_and_the_code_unused(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    license(store, app, "ROLLBACK1").await;
    let user = new_user("rolled_back");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(app, &user).await.unwrap();
    let code = LicenseCode::parse("ROLLBACK1").unwrap();
    assert!(
        tx.redeem_license(app, &code, user.id, now())
            .await
            .unwrap()
            .is_some()
    );
    tx.register_device(app, user.id, &HardwareId::parse("hw").unwrap(), now())
        .await
        .unwrap();
    drop(tx);
    assert_eq!(UserStore::get(store, app, user.id).await.unwrap(), None);
    assert!(
        !store
            .find_by_code(app, &code)
            .await
            .unwrap()
            .unwrap()
            .is_used()
    );
}

/// How many ledger rows of `kind` are stored, and their minutes added up.
async fn ledger(db: &TestDatabase, kind: AdjustmentKind) -> (i64, i64) {
    let connection = db.store.connection();
    let sql = format!(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(minutes), 0) AS BIGINT) AS minutes \
         FROM membership_adjustments WHERE kind = '{}'",
        kind.as_str()
    );
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get::<i64>("", "n").unwrap(),
        row.try_get::<i64>("", "minutes").unwrap(),
    )
}

async fn membership_ledger_rows_are_written_with_or_without_a_membership_update(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    license(store, app, "LEDGER1").await;
    let opening = Membership {
        is_lifetime: false,
        active_until: Some(now() + chrono::Duration::minutes(60)),
    };
    let user = NewUser {
        membership: opening,
        ..new_user("ledger")
    };
    let mut tx = store.begin().await.unwrap();
    tx.create_user(app, &user).await.unwrap();
    let code = LicenseCode::parse("LEDGER1").unwrap();
    let redeemed = tx
        .redeem_license(app, &code, user.id, now())
        .await
        .unwrap()
        .unwrap();
    tx.record_adjustment(app, user.id, &Adjustment::for_license(&redeemed, now()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ledger(&db, AdjustmentKind::License).await, (1, 60));
    let stored = UserStore::get(store, app, user.id).await.unwrap().unwrap();
    assert_eq!(
        stored.membership, opening,
        "recording leaves the membership"
    );

    let extended = Membership {
        is_lifetime: false,
        active_until: opening
            .active_until
            .map(|at| at + chrono::Duration::minutes(30)),
    };
    let adjustment = Adjustment {
        id: domain::values::AdjustmentId::generate(),
        kind: AdjustmentKind::Admin,
        occurred_at: now(),
        minutes: 30,
        grants_lifetime_access: false,
        revokes_lifetime_access: false,
        license_id: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.adjust_membership(app, user.id, extended, &adjustment)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ledger(&db, AdjustmentKind::Admin).await, (1, 30));
    let stored = UserStore::get(store, app, user.id).await.unwrap().unwrap();
    assert_eq!(
        stored.membership, extended,
        "adjusting stores the membership"
    );
}

async fn expired_sessions_are_deleted_in_bounded_batches_and_others_kept(db: TestDatabase) {
    use domain::session::NewSession;
    use domain::values::{Digest, SessionId};
    let store = &db.store;
    let app = application(store).await.application.id;
    let user = new_user("sessions");
    let ago = |minutes: i64| now() - chrono::Duration::minutes(minutes);
    // (token, expired at): three long expired, one just expired, one still live.
    let sessions = [
        ("old1", ago(120)),
        ("old2", ago(120)),
        ("old3", ago(90)),
        ("recent", ago(10)),
        ("live", ago(-5)),
    ];
    let mut tx = store.begin().await.unwrap();
    tx.create_user(app, &user).await.unwrap();
    for (token, expires_at) in sessions {
        let session = NewSession {
            id: SessionId::generate(),
            token_digest: Digest::of(token),
            user: user.id,
            device: None,
            created_at: expires_at - chrono::Duration::minutes(5),
            expires_at,
        };
        tx.create_session(app, &session).await.unwrap();
    }
    tx.commit().await.unwrap();

    let before = ago(60);
    assert_eq!(
        store.delete_expired(before, 2).await.unwrap(),
        2,
        "one batch"
    );
    assert_eq!(store.delete_expired(before, 2).await.unwrap(), 1);
    assert_eq!(store.delete_expired(before, 2).await.unwrap(), 0);
    for (token, _) in sessions {
        let found = store.find_by_token(app, &Digest::of(token)).await.unwrap();
        assert_eq!(
            found.is_some(),
            !token.starts_with("old"),
            "session {token}"
        );
    }
}

async fn license_codes_are_scoped_by_application_and_unique_within_one(db: TestDatabase) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    license(store, a, "SHARED-CODE").await;
    let code = LicenseCode::parse("shared code").unwrap();
    assert!(store.find_by_code(a, &code).await.unwrap().is_some());
    assert_eq!(store.find_by_code(b, &code).await.unwrap(), None);

    let user = new_user("other_app_user");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(b, &user).await.unwrap();
    assert_eq!(
        tx.redeem_license(b, &code, user.id, now()).await.unwrap(),
        None,
        "another app's code"
    );
    drop(tx);

    let again = NewLicense {
        id: LicenseId::generate(),
        code,
        duration: LicenseDuration::Lifetime,
        created_at: now(),
    };
    let duplicate = store.create_many(a, std::slice::from_ref(&again)).await;
    assert!(matches!(duplicate, Err(StoreLicensesError::DuplicateCode)));
    assert_eq!(
        store.create_many(b, &[again]).await.unwrap().len(),
        1,
        "codes are unique per application only"
    );
}

async fn ip_bans_match_addresses_inside_their_range_in_both_families(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    ban(
        store,
        app,
        BanTarget::Ip(IpBanRange::parse("203.0.113.0/24").unwrap()),
    )
    .await;
    ban(
        store,
        app,
        BanTarget::Ip(IpBanRange::parse("2001:db8::/32").unwrap()),
    )
    .await;
    ban(
        store,
        app,
        BanTarget::Ip(IpBanRange::parse("192.0.2.9").unwrap()),
    )
    .await;
    ban(
        store,
        app,
        BanTarget::Ip(IpBanRange::parse("::/64").unwrap()),
    )
    .await;
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
    for (ip, banned) in cases {
        let probe = BanProbe {
            ip: Some(ClientIp::parse(ip).unwrap()),
            ..BanProbe::default()
        };
        let found = store.find_ban(app, &probe).await.unwrap();
        assert_eq!(found == Some(BanKind::Ip), banned, "{ip}");
    }
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
    ban(
        store,
        a,
        BanTarget::HardwareId(HardwareId::parse("Device-1").unwrap()),
    )
    .await;
    ban(store, a, BanTarget::License(license_id)).await;
    ban(store, a, BanTarget::User(user_id)).await;
    let hw = |id: &str| BanProbe {
        hardware_id: Some(HardwareId::parse(id).unwrap()),
        ..BanProbe::default()
    };
    assert_eq!(
        store.find_ban(a, &hw("Device-1")).await.unwrap(),
        Some(BanKind::HardwareId)
    );
    assert_eq!(
        store.find_ban(a, &hw("device-1")).await.unwrap(),
        None,
        "hardware ids compare exactly"
    );
    assert_eq!(
        store.find_ban(b, &hw("Device-1")).await.unwrap(),
        None,
        "another application's ban"
    );
    let by_license = BanProbe {
        license: Some(license_id),
        ..BanProbe::default()
    };
    assert_eq!(
        store.find_ban(a, &by_license).await.unwrap(),
        Some(BanKind::License)
    );
    let by_user = BanProbe {
        user: Some(user_id),
        ..BanProbe::default()
    };
    assert_eq!(
        store.find_ban(a, &by_user).await.unwrap(),
        Some(BanKind::User)
    );
    let clean = BanProbe {
        ip: Some(ClientIp::parse("10.0.0.1").unwrap()),
        hardware_id: Some(HardwareId::parse("Device-2").unwrap()),
        license: Some(LicenseId::generate()),
        user: Some(UserId::generate()),
    };
    assert_eq!(store.find_ban(a, &clean).await.unwrap(), None);
    assert_eq!(store.find_ban(a, &BanProbe::default()).await.unwrap(), None);
}

async fn bans_are_listed_and_deleted_within_their_application(db: TestDatabase) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let id = ban(
        store,
        a,
        BanTarget::Ip(IpBanRange::parse("10.0.0.0/8").unwrap()),
    )
    .await;
    let listed = BanStore::list(store, a).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target.value(), "10.0.0.0/8");
    assert!(BanStore::list(store, b).await.unwrap().is_empty());
    assert!(
        !store.delete(b, id).await.unwrap(),
        "another application cannot delete it"
    );
    assert!(store.delete(a, id).await.unwrap());
    assert!(BanStore::list(store, a).await.unwrap().is_empty());
}

async fn no_secret_or_code_is_stored_in_plaintext(db: TestDatabase) {
    let store = &db.store;
    let created = application(store).await;
    let app = created.application.id;
    let code = LicenseCode::generate();
    let new = NewLicense {
        id: LicenseId::generate(),
        code: code.clone(),
        duration: LicenseDuration::Lifetime,
        created_at: now(),
    };
    store.create_many(app, &[new]).await.unwrap();
    let dump = db.dump().await.unwrap();
    assert!(
        dump.contains(&created.application.api_key),
        "the dump sees stored values"
    );
    for secret in [created.api_secret.expose(), created.admin_api_key.expose()] {
        assert!(!dump.contains(secret), "a secret is stored in plaintext");
    }
    assert!(!dump.contains(&code.formatted().replace('-', "")));
    assert!(!dump.contains(&code.formatted()));
}

#[tokio::test]
async fn postgresql_connections_carry_the_statement_timeout() {
    use sea_orm::{ConnectionTrait, Statement};
    let db = fresh_postgres().await.unwrap();
    let connection = db.store.connection();
    let statement =
        Statement::from_string(connection.get_database_backend(), "SHOW statement_timeout");
    let row = connection.query_one_raw(statement).await.unwrap().unwrap();
    assert_eq!(
        row.try_get::<String>("", "statement_timeout").unwrap(),
        "5s"
    );
}
