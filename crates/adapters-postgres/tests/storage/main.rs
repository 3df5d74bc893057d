//! The storage adapter against real databases: every test runs on PostgreSQL and on SQLite,
//! each on a fresh, migrated database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_postgres::SeaOrmStore;
use adapters_postgres::testing::{TestDatabase, fresh_postgres};
use chrono::{DateTime, Utc};
use domain::application::{ApplicationName, CreatedApplication};
use domain::errors::{CommitConflict, StoreLicensesError};
use domain::license::{LicenseDuration, NewLicense};
use domain::page::PageRequest;
use domain::ports::{
    ApplicationStore, Clock, LicenseStore, SessionStore, SystemClock, UnitOfWork, UserStore,
};
use domain::user::{Adjustment, AdjustmentKind, Credential, Membership, NewUser};
use domain::values::{
    ApplicationId, ClientIp, HardwareId, LicenseCode, LicenseId, UserId, Username,
};
use sea_orm::{ConnectionTrait as _, Statement};
use std::sync::Arc;
use tokio::sync::Barrier;

mod bans;
mod console_records;
mod events;
mod files;
mod lists;
mod operators;
mod overview;
mod variables;
mod webhooks;

/// Runs each named test body on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let db = adapters_postgres::testing::fresh_postgres().await;
                super::$name(db.expect("a PostgreSQL test database")).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let db = adapters_postgres::testing::fresh_sqlite().await;
                super::$name(db.expect("a SQLite test database")).await;
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
    no_secret_or_code_is_stored_in_plaintext,
    concurrent_read_then_write_changes_all_commit,
);

pub fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// A master key for tests; the store only ever sees what it sealed.
pub fn master_key() -> domain::crypto::MasterKey {
    domain::crypto::MasterKey::from_bytes(&[3; 32]).unwrap()
}

pub async fn application(store: &SeaOrmStore) -> CreatedApplication {
    let name = ApplicationName::parse("App").unwrap();
    let created = CreatedApplication::generate(name, true, now(), &master_key()).unwrap();
    ApplicationStore::create(store, &created.application)
        .await
        .unwrap();
    created
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        username: Username::parse(name).unwrap(),
        credential: Credential::LicenseCode,
        membership: Membership::default(),
        signup_ip: ClientIp::parse("198.51.100.1").unwrap(),
        created_at: now(),
    }
}

pub async fn license(store: &SeaOrmStore, app: ApplicationId, code: &str) -> LicenseId {
    let new = NewLicense {
        id: LicenseId::generate(),
        code: LicenseCode::parse(code).unwrap(),
        duration: LicenseDuration::Minutes(60),
        created_at: now(),
    };
    store
        .create_many(app, &[new], &[])
        .await
        .unwrap()
        .remove(0)
        .id
}

/// A change that reads its row before writing it, many at once: on SQLite a deferred
/// transaction could not upgrade to a write after another committed, and failed at once.
async fn concurrent_read_then_write_changes_all_commit(db: TestDatabase) {
    let store = Arc::new(db.store.clone());
    let app = application(&store).await.application.id;
    let barrier = Arc::new(Barrier::new(16));
    let changes: Vec<_> = (0..16)
        .map(|n| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let update = domain::application::ApplicationUpdate {
                    name: Some(ApplicationName::parse(&format!("renamed {n}")).unwrap()),
                    ..domain::application::ApplicationUpdate::default()
                };
                barrier.wait().await;
                ApplicationStore::update(store.as_ref(), app, &update, &[]).await
            })
        })
        .collect();
    for change in changes {
        let updated = change.await.unwrap();
        assert!(matches!(updated, Ok(Some(_))), "{updated:?}");
    }
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
        ApplicationStore::list(store, &PageRequest::first())
            .await
            .unwrap()
            .items,
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
    tx.create_user(a, &new_user("ＡＬＩＣＥ")).await.unwrap();
    let taken = tx.commit().await.unwrap_err();
    assert_eq!(
        CommitConflict::of(&taken),
        Some(CommitConflict::UsernameTaken),
        "{taken:?}"
    );

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
                tx.create_user(app, &user).await?;
                match tx.commit().await {
                    Ok(()) => Ok(true),
                    Err(error) if CommitConflict::of(&error).is_some() => Ok(false),
                    Err(error) => Err(error),
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
    let license_id = license(&store, app, "RACE-CODE-0001").await;
    let barrier = Arc::new(Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let user = new_user(&format!("racer{i}"));
                barrier.wait().await;
                let mut tx = store.begin().await?;
                tx.create_user(app, &user).await?;
                tx.claim_license(app, license_id, user.id, now()).await?;
                match tx.commit().await {
                    Ok(()) => anyhow::Ok(true),
                    Err(error)
                        if CommitConflict::of(&error) == Some(CommitConflict::LicenseClaimed) =>
                    {
                        // The loser kept nothing, its user included.
                        assert_eq!(UserStore::get(&*store, app, user.id).await?, None);
                        Ok(false)
                    }
                    Err(error) => Err(error),
                }
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
    let license_id = license(store, app, "ROLLBACK1").await;
    let user = new_user("rolled_back");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(app, &user).await.unwrap();
    let code = LicenseCode::parse("ROLLBACK1").unwrap();
    tx.claim_license(app, license_id, user.id, now())
        .await
        .unwrap();
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
    let license_id = license(store, app, "LEDGER1").await;
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
    let license_found = store.find_by_code(app, &code).await.unwrap().unwrap();
    assert_eq!(license_found.id, license_id);
    tx.claim_license(app, license_id, user.id, now())
        .await
        .unwrap();
    let redeemed = license_found.used_by(user.id, now());
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
        reason: None,
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
        SessionStore::delete_expired(store, before, 2)
            .await
            .unwrap(),
        2,
        "one batch"
    );
    assert_eq!(
        SessionStore::delete_expired(store, before, 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        SessionStore::delete_expired(store, before, 2)
            .await
            .unwrap(),
        0
    );
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
    let a_license = store.find_by_code(a, &code).await.unwrap().unwrap().id;
    let mut tx = store.begin().await.unwrap();
    tx.create_user(b, &user).await.unwrap();
    tx.claim_license(b, a_license, user.id, now())
        .await
        .unwrap();
    let lost = tx.commit().await.unwrap_err();
    assert_eq!(
        CommitConflict::of(&lost),
        Some(CommitConflict::LicenseClaimed),
        "another app's license cannot be claimed"
    );
    assert!(
        !store
            .find_by_code(a, &code)
            .await
            .unwrap()
            .unwrap()
            .is_used()
    );
    assert_eq!(UserStore::get(store, b, user.id).await.unwrap(), None);

    let again = NewLicense {
        id: LicenseId::generate(),
        code,
        duration: LicenseDuration::Lifetime,
        created_at: now(),
    };
    let duplicate = store
        .create_many(a, std::slice::from_ref(&again), &[])
        .await;
    assert!(matches!(duplicate, Err(StoreLicensesError::DuplicateCode)));
    assert_eq!(
        store.create_many(b, &[again], &[]).await.unwrap().len(),
        1,
        "codes are unique per application only"
    );
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
    store.create_many(app, &[new], &[]).await.unwrap();
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

mod nonces {
    use super::{application, now};
    use adapters_postgres::testing::TestDatabase;
    use domain::ports::NonceStore;
    use std::sync::Arc;
    use tokio::sync::Barrier;

    crate::on_both_backends!(
        a_nonce_is_recorded_once_per_application_even_by_concurrent_callers,
        expired_nonces_are_deleted_in_bounded_batches,
    );

    async fn a_nonce_is_recorded_once_per_application_even_by_concurrent_callers(db: TestDatabase) {
        let store = Arc::new(db.store.clone());
        let (app, other) = (
            application(&store).await.application.id,
            application(&store).await.application.id,
        );
        let until = now() + chrono::Duration::seconds(11);
        let barrier = Arc::new(Barrier::new(12));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .record(app, "nonce-0123456789abcdef", until)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut firsts = 0;
        for task in tasks {
            firsts += usize::from(task.await.unwrap());
        }
        assert_eq!(firsts, 1, "exactly one caller records the nonce");
        assert!(
            store
                .record(other, "nonce-0123456789abcdef", until)
                .await
                .unwrap(),
            "nonces are per application"
        );
    }

    async fn expired_nonces_are_deleted_in_bounded_batches(db: TestDatabase) {
        let store = &db.store;
        let app = application(store).await.application.id;
        let at = now();
        for (n, seconds) in [(1, -20), (2, -10), (3, 0), (4, 5)] {
            let nonce = format!("nonce-{n:016}");
            let until = at + chrono::Duration::seconds(seconds);
            assert!(store.record(app, &nonce, until).await.unwrap());
        }
        assert_eq!(NonceStore::delete_expired(store, at, 2).await.unwrap(), 2);
        assert_eq!(NonceStore::delete_expired(store, at, 2).await.unwrap(), 1);
        assert_eq!(NonceStore::delete_expired(store, at, 2).await.unwrap(), 0);
        let later = at + chrono::Duration::seconds(11);
        assert!(
            !store
                .record(app, "nonce-0000000000000004", later)
                .await
                .unwrap(),
            "a nonce still kept is still spent"
        );
        assert!(
            store
                .record(app, "nonce-0000000000000001", later)
                .await
                .unwrap(),
            "a deleted nonce was kept long enough"
        );
    }
}
