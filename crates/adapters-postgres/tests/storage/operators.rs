//! The console's operator accounts and sessions: unique e-mail addresses, single-use backup
//! codes and TOTP steps, sessions found by digest, deleted, and purged when expired.

use super::now;
use adapters_postgres::testing::TestDatabase;
use chrono::Duration;
use domain::operator_account::{
    BackupCode, ConsoleSession, ConsoleToken, CreateOperatorError, OperatorAccount, OperatorEmail,
    OperatorRole,
};
use domain::ports::{ConsoleSessionStore, OperatorAccountStore};
use domain::values::{OperatorId, PasswordHash};
use std::sync::Arc;
use tokio::sync::Barrier;

crate::on_both_backends!(
    an_operator_round_trips_and_its_email_is_unique,
    totp_is_enabled_once_and_each_step_is_accepted_once,
    concurrent_uses_of_one_backup_code_have_exactly_one_winner,
    console_sessions_are_found_by_digest_touched_deleted_and_purged,
);

fn operator(email: &str) -> OperatorAccount {
    OperatorAccount {
        id: OperatorId::generate(),
        email: OperatorEmail::parse(email).unwrap(),
        role: OperatorRole::Support,
        password_hash: PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$x$y".to_owned()),
        sealed_totp_secret: None,
        totp_last_step: None,
        created_at: now(),
    }
}

async fn an_operator_round_trips_and_its_email_is_unique(db: TestDatabase) {
    let store = &db.store;
    let account = operator("ops@example.com");
    OperatorAccountStore::create(store, &account).await.unwrap();
    let found = store
        .find_by_email(&OperatorEmail::parse("OPS@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&account));
    assert_eq!(
        OperatorAccountStore::get(store, account.id).await.unwrap(),
        Some(account.clone())
    );
    let stronger = PasswordHash::from_phc("$argon2id$v=19$m=65536,t=3,p=1$x$y".to_owned());
    store
        .set_password_hash(account.id, &stronger)
        .await
        .unwrap();
    let rehashed = OperatorAccountStore::get(store, account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rehashed.password_hash, stronger);
    let again = OperatorAccountStore::create(store, &operator("ops@example.com")).await;
    assert!(matches!(again, Err(CreateOperatorError::EmailTaken)));
}

async fn totp_is_enabled_once_and_each_step_is_accepted_once(db: TestDatabase) {
    let store = &db.store;
    let account = operator("ops@example.com");
    OperatorAccountStore::create(store, &account).await.unwrap();
    let codes: Vec<_> = (0..10).map(|_| BackupCode::generate().digest()).collect();
    assert!(
        store
            .enable_totp(account.id, b"sealed", &codes, now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .enable_totp(account.id, b"other", &codes, now())
            .await
            .unwrap()
    );
    let stored = OperatorAccountStore::get(store, account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sealed_totp_secret.as_deref(), Some(&b"sealed"[..]));
    assert_eq!(store.unused_backup_codes(account.id).await.unwrap(), 10);
    assert!(store.accept_totp_step(account.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(account.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(account.id, 99).await.unwrap());
    assert!(store.accept_totp_step(account.id, 101).await.unwrap());
}

async fn concurrent_uses_of_one_backup_code_have_exactly_one_winner(db: TestDatabase) {
    let store = Arc::new(db.store.clone());
    let account = operator("ops@example.com");
    OperatorAccountStore::create(store.as_ref(), &account)
        .await
        .unwrap();
    let code = BackupCode::generate();
    store
        .enable_totp(account.id, b"sealed", &[code.digest()], now())
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, barrier, digest) = (store.clone(), barrier.clone(), code.digest());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .use_backup_code(account.id, &digest, now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(store.unused_backup_codes(account.id).await.unwrap(), 0);
}

async fn console_sessions_are_found_by_digest_touched_deleted_and_purged(db: TestDatabase) {
    let store = &db.store;
    let account = operator("ops@example.com");
    OperatorAccountStore::create(store, &account).await.unwrap();
    let session = |expires_at| {
        let token = ConsoleToken::generate();
        let session = ConsoleSession {
            token_digest: token.digest(),
            operator: account.id,
            pending_second_factor: false,
            created_at: now(),
            last_seen_at: now(),
            expires_at,
        };
        (token, session)
    };
    let (live_token, live) = session(now() + Duration::days(7));
    let (_, expired) = session(now() - Duration::seconds(1));
    ConsoleSessionStore::create(store, &live).await.unwrap();
    ConsoleSessionStore::create(store, &expired).await.unwrap();
    assert_eq!(
        store.find(&live_token.digest()).await.unwrap(),
        Some(live.clone())
    );
    let later = now() + Duration::minutes(5);
    store.touch(&live_token.digest(), later).await.unwrap();
    let touched = store.find(&live_token.digest()).await.unwrap().unwrap();
    assert_eq!(touched.last_seen_at, later);
    assert_eq!(
        ConsoleSessionStore::delete_expired(store, now(), 100)
            .await
            .unwrap(),
        1
    );
    assert!(store.find(&expired.token_digest).await.unwrap().is_none());
    assert!(
        ConsoleSessionStore::delete(store, &live_token.digest())
            .await
            .unwrap()
    );
    assert!(store.find(&live_token.digest()).await.unwrap().is_none());
}
