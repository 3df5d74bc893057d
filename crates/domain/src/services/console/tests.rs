//! The console accounts' rules, over mocked ports.

use super::*;
use crate::operator_account::ConsoleAction;
use crate::ports::{
    MockClock, MockConsoleSessionStore, MockOperatorAccountStore, MockPasswordHasher,
    MockRateLimiter,
};
use crate::services::test_support::{fixed_now, ip};
use crate::values::PasswordHash;

struct Mocks {
    accounts: MockOperatorAccountStore,
    sessions: MockConsoleSessionStore,
    hasher: MockPasswordHasher,
    limiter: MockRateLimiter,
}

fn mocks() -> Mocks {
    let mut limiter = MockRateLimiter::new();
    limiter.expect_check().returning(|_, _, _| Ok(()));
    Mocks {
        accounts: MockOperatorAccountStore::new(),
        sessions: MockConsoleSessionStore::new(),
        hasher: MockPasswordHasher::new(),
        limiter,
    }
}

fn master_key() -> Arc<MasterKey> {
    Arc::new(MasterKey::from_bytes(&[7_u8; 32]).unwrap())
}

fn service(m: Mocks, key: Arc<MasterKey>) -> OperatorAccounts {
    let mut clock = MockClock::new();
    clock.expect_now().returning(fixed_now);
    OperatorAccounts::new(
        Arc::new(m.accounts),
        Arc::new(m.sessions),
        Arc::new(m.hasher),
        Arc::new(m.limiter),
        Arc::new(clock),
        key,
    )
}

fn account(role: OperatorRole) -> OperatorAccount {
    OperatorAccount {
        id: OperatorId::generate(),
        email: OperatorEmail::parse("ops@example.com").unwrap(),
        role,
        password_hash: PasswordHash::from_phc("$argon2id$stored".to_owned()),
        sealed_totp_secret: None,
        totp_last_step: None,
        created_at: fixed_now(),
    }
}

fn with_totp(key: &MasterKey, secret: &[u8]) -> OperatorAccount {
    let mut account = account(OperatorRole::Owner);
    account.sealed_totp_secret = Some(key.seal(&totp_purpose(account.id), secret).unwrap());
    account
}

fn code_at(secret: &[u8], at: DateTime<Utc>) -> String {
    totp(secret)
        .unwrap()
        .generate(u64::try_from(at.timestamp()).unwrap())
        .to_string()
}

#[tokio::test]
async fn an_unknown_email_costs_a_dummy_hash_and_gets_the_wrong_password_answer() {
    let mut m = mocks();
    m.accounts
        .expect_find_by_email()
        .times(1)
        .return_once(|_| Ok(None));
    m.hasher
        .expect_verify()
        .withf(|hash, _| hash.is_none())
        .times(1)
        .return_once(|_, _| Ok(false));
    m.limiter
        .expect_count()
        .times(2)
        .returning(|_, _, _| Ok(()));
    let result = service(m, master_key())
        .sign_in("nobody@example.com", "password123", ip())
        .await;
    assert!(matches!(result, Err(ConsoleSignInError::WrongCredentials)));
}

#[tokio::test]
async fn a_correct_password_starts_a_session_with_a_new_token() {
    let mut m = mocks();
    let stored = account(OperatorRole::Owner);
    let id = stored.id;
    m.accounts
        .expect_find_by_email()
        .times(1)
        .return_once(move |_| Ok(Some(stored)));
    m.hasher
        .expect_verify()
        .times(1)
        .return_once(|_, _| Ok(true));
    m.hasher.expect_needs_rehash().return_const(false);
    m.sessions
        .expect_create()
        .withf(move |s| s.operator == id && !s.pending_second_factor)
        .times(1)
        .return_once(|_| Ok(()));
    let result = service(m, master_key())
        .sign_in("OPS@example.com", "password123", ip())
        .await
        .unwrap();
    let SignInStep::Complete(started) = result else {
        panic!("expected a complete sign-in");
    };
    assert_eq!(started.session.token_digest, started.token.digest());
    assert_eq!(started.session.expires_at, fixed_now() + ABSOLUTE_TIMEOUT);
}

#[tokio::test]
async fn a_rate_limited_sign_in_is_refused_before_any_hashing() {
    let mut m = mocks();
    m.limiter = MockRateLimiter::new();
    m.limiter.expect_check().times(1).returning(|_, _, _| {
        Err(Limited {
            retry_after: std::time::Duration::from_secs(42),
        })
    });
    let result = service(m, master_key())
        .sign_in("ops@example.com", "password123", ip())
        .await;
    assert!(
        matches!(result, Err(ConsoleSignInError::RateLimited(l)) if l.retry_after.as_secs() == 42)
    );
}

#[tokio::test]
async fn an_account_with_totp_gets_a_short_pending_session() {
    let key = master_key();
    let mut m = mocks();
    let stored = with_totp(&key, &[1_u8; 20]);
    m.accounts
        .expect_find_by_email()
        .return_once(move |_| Ok(Some(stored)));
    m.hasher.expect_verify().return_once(|_, _| Ok(true));
    m.hasher.expect_needs_rehash().return_const(false);
    m.sessions
        .expect_create()
        .withf(|s| s.pending_second_factor && s.expires_at == fixed_now() + SECOND_FACTOR_TIMEOUT)
        .times(1)
        .return_once(|_| Ok(()));
    let result = service(m, key)
        .sign_in("ops@example.com", "password123", ip())
        .await
        .unwrap();
    assert!(matches!(result, SignInStep::SecondFactorNeeded(_)));
}

fn pending_for(account: &OperatorAccount) -> ConsoleSession {
    ConsoleSession {
        token_digest: ConsoleToken::from_cookie("pending").digest(),
        operator: account.id,
        pending_second_factor: true,
        created_at: fixed_now(),
        last_seen_at: fixed_now(),
        expires_at: fixed_now() + SECOND_FACTOR_TIMEOUT,
    }
}

#[tokio::test]
async fn a_current_totp_code_ends_the_pending_session_and_starts_a_full_one() {
    let key = master_key();
    let secret = [3_u8; 20];
    let stored = with_totp(&key, &secret);
    let pending = pending_for(&stored);
    let mut m = mocks();
    m.sessions
        .expect_find()
        .return_once(move |_| Ok(Some(pending)));
    m.accounts
        .expect_get()
        .return_once(move |_| Ok(Some(stored)));
    m.accounts
        .expect_accept_totp_step()
        .withf(|_, step| *step == fixed_now().timestamp() / 30)
        .times(1)
        .return_once(|_, _| Ok(true));
    m.sessions
        .expect_delete()
        .times(1)
        .return_once(|_| Ok(true));
    m.sessions
        .expect_create()
        .withf(|s| !s.pending_second_factor)
        .times(1)
        .return_once(|_| Ok(()));
    let started = service(m, key)
        .second_factor(
            &ConsoleToken::from_cookie("pending"),
            &code_at(&secret, fixed_now()),
            ip(),
        )
        .await
        .unwrap();
    assert_ne!(started.token.expose(), "pending");
}

#[tokio::test]
async fn a_replayed_totp_step_is_refused() {
    let key = master_key();
    let secret = [3_u8; 20];
    let stored = with_totp(&key, &secret);
    let pending = pending_for(&stored);
    let mut m = mocks();
    m.sessions
        .expect_find()
        .return_once(move |_| Ok(Some(pending)));
    m.accounts
        .expect_get()
        .return_once(move |_| Ok(Some(stored)));
    // The store says this step was already accepted.
    m.accounts
        .expect_accept_totp_step()
        .times(1)
        .return_once(|_, _| Ok(false));
    m.limiter
        .expect_count()
        .times(2)
        .returning(|_, _, _| Ok(()));
    let result = service(m, key)
        .second_factor(
            &ConsoleToken::from_cookie("pending"),
            &code_at(&secret, fixed_now()),
            ip(),
        )
        .await;
    assert!(matches!(result, Err(SecondFactorError::WrongCode)));
}

#[tokio::test]
async fn a_backup_code_is_tried_when_the_code_is_not_six_digits() {
    let key = master_key();
    let stored = with_totp(&key, &[3_u8; 20]);
    let pending = pending_for(&stored);
    let mut m = mocks();
    m.sessions
        .expect_find()
        .return_once(move |_| Ok(Some(pending)));
    m.accounts
        .expect_get()
        .return_once(move |_| Ok(Some(stored)));
    m.accounts
        .expect_use_backup_code()
        .withf(|_, digest, _| *digest == BackupCode::digest_of("ABCD-EFGH-JKMN-PQRS"))
        .times(1)
        .return_once(|_, _, _| Ok(true));
    m.sessions.expect_delete().return_once(|_| Ok(true));
    m.sessions.expect_create().return_once(|_| Ok(()));
    let result = service(m, key)
        .second_factor(
            &ConsoleToken::from_cookie("pending"),
            "abcd efgh jkmn pqrs",
            ip(),
        )
        .await;
    assert!(result.is_ok());
}

#[tokio::test]
async fn a_full_session_cannot_be_used_as_a_pending_one() {
    let stored = account(OperatorRole::Owner);
    let mut session = pending_for(&stored);
    session.pending_second_factor = false;
    let mut m = mocks();
    m.sessions
        .expect_find()
        .return_once(move |_| Ok(Some(session)));
    let result = service(m, master_key())
        .second_factor(&ConsoleToken::from_cookie("pending"), "123456", ip())
        .await;
    assert!(matches!(result, Err(SecondFactorError::Expired)));
}

#[tokio::test]
async fn an_idle_session_opens_nothing() {
    let stored = account(OperatorRole::Owner);
    let mut session = pending_for(&stored);
    session.pending_second_factor = false;
    session.last_seen_at = fixed_now() - IDLE_TIMEOUT;
    session.expires_at = fixed_now() + Duration::days(1);
    let mut m = mocks();
    m.sessions
        .expect_find()
        .return_once(move |_| Ok(Some(session)));
    let found = service(m, master_key())
        .session(&ConsoleToken::from_cookie("pending"))
        .await
        .unwrap();
    assert!(found.is_none());
}

#[tokio::test]
async fn a_pending_session_opens_no_page() {
    let stored = account(OperatorRole::Owner);
    let session = pending_for(&stored);
    let mut m = mocks();
    m.sessions
        .expect_find()
        .return_once(move |_| Ok(Some(session)));
    let found = service(m, master_key())
        .session(&ConsoleToken::from_cookie("pending"))
        .await
        .unwrap();
    assert!(found.is_none());
}

#[tokio::test]
async fn support_cannot_invite_operators() {
    let m = mocks();
    let support = account(OperatorRole::Support);
    assert!(!support.role.allows(ConsoleAction::ManageOperators));
    let result = service(m, master_key())
        .invite(
            &support,
            OperatorEmail::parse("new@example.com").unwrap(),
            OperatorRole::Support,
        )
        .await;
    assert!(matches!(result, Err(CreateAccountError::NotAllowed)));
}

#[tokio::test]
async fn an_owner_invites_with_a_one_time_password() {
    let mut m = mocks();
    m.hasher
        .expect_hash()
        .times(1)
        .return_once(|_| Ok(PasswordHash::from_phc("$argon2id$new".to_owned())));
    m.accounts
        .expect_create()
        .withf(|a| a.role == OperatorRole::Support && a.email.as_str() == "new@example.com")
        .times(1)
        .return_once(|_| Ok(()));
    let (_, password) = service(m, master_key())
        .invite(
            &account(OperatorRole::Owner),
            OperatorEmail::parse("New@Example.com").unwrap(),
            OperatorRole::Support,
        )
        .await
        .unwrap();
    assert!(password.len() >= 20);
}

#[tokio::test]
async fn totp_setup_stores_the_secret_sealed_for_the_account_and_ten_backup_codes() {
    let key = master_key();
    let operator = account(OperatorRole::Owner);
    let id = operator.id;
    let opener = key.clone();
    let mut m = mocks();
    m.accounts
        .expect_enable_totp()
        .withf(move |account, sealed, codes, _| {
            *account == id && codes.len() == 10 && opener.open(&totp_purpose(id), sealed).is_ok()
        })
        .times(1)
        .return_once(|_, _, _, _| Ok(true));
    m.accounts
        .expect_accept_totp_step()
        .times(1)
        .return_once(|_, _| Ok(true));
    let service = service(m, key);
    let setup = service.begin_totp_setup(&operator).unwrap();
    assert!(
        setup
            .otpauth_uri
            .starts_with("otpauth://totp/Latchkey:ops@example.com?secret=")
    );
    let secret = data_encoding::BASE32_NOPAD
        .decode(setup.secret_base32.as_bytes())
        .unwrap();
    let codes = service
        .confirm_totp_setup(&operator, &setup.sealed, &code_at(&secret, fixed_now()))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
}

#[tokio::test]
async fn a_setup_sealed_for_another_account_does_not_confirm() {
    let key = master_key();
    let service = service(mocks(), key);
    let setup = service
        .begin_totp_setup(&account(OperatorRole::Owner))
        .unwrap();
    let result = service
        .confirm_totp_setup(&account(OperatorRole::Owner), &setup.sealed, "123456")
        .await;
    assert!(matches!(result, Err(TotpSetupError::Invalid)));
}

#[tokio::test]
async fn a_weak_stored_hash_is_replaced_after_a_correct_password() {
    let mut m = mocks();
    let stored = account(OperatorRole::Owner);
    let id = stored.id;
    m.accounts
        .expect_find_by_email()
        .return_once(move |_| Ok(Some(stored)));
    m.hasher.expect_verify().return_once(|_, _| Ok(true));
    m.hasher.expect_needs_rehash().return_const(true);
    m.hasher
        .expect_hash()
        .times(1)
        .return_once(|_| Ok(PasswordHash::from_phc("$argon2id$stronger".to_owned())));
    m.accounts
        .expect_set_password_hash()
        .withf(move |account, hash| *account == id && hash.as_str() == "$argon2id$stronger")
        .times(1)
        .return_once(|_, _| Ok(()));
    m.sessions.expect_create().return_once(|_| Ok(()));
    let result = service(m, master_key())
        .sign_in("ops@example.com", "password123", ip())
        .await;
    assert!(result.is_ok());
}
