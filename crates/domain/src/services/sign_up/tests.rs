use super::super::test_support::{
    Mocks, application, expect_events, fixed_now, ip, password_user, stored, unused_license,
};
use super::super::{IntegrationApi, LicenseSignUp, PasswordSignUp};
use crate::ban::BanKind;
use crate::errors::{AuthenticateError, CommitConflict, LicenseSignUpError, SignUpError};
use crate::event::{EventType, RequestContext};
use crate::license::{License, LicenseDuration};
use crate::ports::MockTransaction;
use crate::user::Credential;
use crate::values::{HardwareId, LicenseCode, Password, PasswordHash, Username};
use chrono::Duration;
use mockall::predicate::eq;

fn password_sign_up(hardware_id: Option<&str>) -> PasswordSignUp {
    PasswordSignUp {
        username: Username::parse("john_doe").unwrap(),
        password: Password::parse("secure_password123").unwrap(),
        hardware_id: hardware_id.map(|id| HardwareId::parse(id).unwrap()),
        context: RequestContext::from_ip(ip()),
    }
}

fn license_sign_up(hardware_id: Option<&str>) -> LicenseSignUp {
    LicenseSignUp {
        code: LicenseCode::parse("ABC123XYZ789").unwrap(),
        hardware_id: hardware_id.map(|id| HardwareId::parse(id).unwrap()),
        context: RequestContext::from_ip(ip()),
    }
}

// --- application credentials ---

#[tokio::test]
async fn the_right_key_and_secret_authenticate_the_application() {
    let app = application(true);
    let mut mocks = Mocks::default();
    let found = app.clone();
    mocks
        .applications
        .expect_find_by_api_key()
        .with(eq("lk_app_key"))
        .times(1)
        .return_once(|_| Ok(Some(found)));
    let result = mocks
        .service()
        .authenticate("lk_app_key", "lk_sec_secret")
        .await;
    assert_eq!(result.unwrap(), app);
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_key_are_the_same_error() {
    let app = application(true);
    let mut mocks = Mocks::default();
    mocks
        .applications
        .expect_find_by_api_key()
        .with(eq("lk_app_key"))
        .times(1)
        .return_once(|_| Ok(Some(app)));
    mocks
        .applications
        .expect_find_by_api_key()
        .with(eq("nope"))
        .times(1)
        .return_once(|_| Ok(None));
    let service = mocks.service();
    let wrong_secret = service.authenticate("lk_app_key", "lk_sec_wrong").await;
    let unknown_key = service.authenticate("nope", "lk_sec_secret").await;
    assert!(matches!(
        wrong_secret,
        Err(AuthenticateError::InvalidCredentials)
    ));
    assert!(matches!(
        unknown_key,
        Err(AuthenticateError::InvalidCredentials)
    ));
}

// --- password sign-up ---

#[tokio::test]
async fn device_authentication_requires_a_hardware_id_before_anything_else() {
    let result = Mocks::default()
        .service()
        .sign_up(&application(true), password_sign_up(None))
        .await;
    assert!(matches!(result, Err(SignUpError::HardwareIdRequired)));
}

#[tokio::test]
async fn a_banned_ip_or_device_is_refused_before_hashing() {
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .withf(|_, probe, _| {
            probe.ip == Some(ip())
                && probe.hardware_id.as_ref().map(HardwareId::as_str) == Some("hw-1")
        })
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::HardwareId)));
    mocks.hasher.expect_hash().never();
    let result = mocks
        .service()
        .sign_up(&application(true), password_sign_up(Some("hw-1")))
        .await;
    assert!(matches!(
        result,
        Err(SignUpError::Banned(BanKind::HardwareId))
    ));
}

#[tokio::test]
async fn a_taken_username_is_refused_without_hashing() {
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .users
        .expect_find_by_username()
        .withf(|_, name| name.canonical() == "john_doe")
        .times(1)
        .return_once(|_, _| Ok(Some(password_user())));
    mocks.hasher.expect_hash().never();
    let result = mocks
        .service()
        .sign_up(&application(false), password_sign_up(None))
        .await;
    assert!(matches!(result, Err(SignUpError::UsernameTaken)));
}

#[tokio::test]
async fn a_sign_up_stores_the_hash_and_registers_the_device_in_one_transaction() {
    let app = application(true);
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(None));
    mocks
        .hasher
        .expect_hash()
        .withf(|password| password.expose() == "secure_password123")
        .times(1)
        .return_once(|_| Ok(PasswordHash::from_phc("$argon2id$stub".to_owned())));
    let mut tx = MockTransaction::new();
    let app_id = app.id;
    tx.expect_create_user()
        .withf(move |id, user| {
            *id == app_id
                && user.username.as_str() == "john_doe"
                && user.credential
                    == Credential::Password(PasswordHash::from_phc("$argon2id$stub".to_owned()))
                && !user.membership.is_active(fixed_now())
                && user.signup_ip == ip()
        })
        .times(1)
        .returning(|_, user| Ok(stored(user)));
    tx.expect_register_device()
        .withf(|_, _, hardware_id, at| hardware_id.as_str() == "hw-1" && *at == fixed_now())
        .times(1)
        .returning(|_, _, hardware_id, at| {
            Ok(crate::user::Device {
                id: crate::values::DeviceId::generate(),
                hardware_id: hardware_id.clone(),
                registered_at: at,
            })
        });
    expect_events(
        &mut tx,
        &[EventType::UserCreated, EventType::DeviceRegistered],
    );
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    let user = mocks
        .service()
        .sign_up(&app, password_sign_up(Some("hw-1")))
        .await
        .unwrap();
    assert_eq!(user.username, "john_doe");
    assert!(!user.membership.is_active(fixed_now()));
}

#[tokio::test]
async fn losing_the_username_race_in_storage_is_username_taken_and_nothing_commits() {
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(None));
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .return_once(|_| Ok(PasswordHash::from_phc("h".to_owned())));
    let mut tx = MockTransaction::new();
    tx.expect_create_user()
        .times(1)
        .returning(|_, user| Ok(stored(user)));
    expect_events(&mut tx, &[EventType::UserCreated]);
    tx.expect_commit()
        .times(1)
        .return_once(|| Err(anyhow::Error::new(CommitConflict::UsernameTaken)));
    mocks.expect_transaction(tx);
    let result = mocks
        .service()
        .sign_up(&application(false), password_sign_up(None))
        .await;
    assert!(matches!(result, Err(SignUpError::UsernameTaken)));
}

// --- license sign-up ---

#[tokio::test]
async fn license_sign_up_without_a_required_hardware_id_touches_nothing() {
    let result = Mocks::default()
        .service()
        .sign_up_with_license_code(&application(true), license_sign_up(None))
        .await;
    assert!(matches!(
        result,
        Err(LicenseSignUpError::HardwareIdRequired)
    ));
}

#[tokio::test]
async fn an_unknown_code_is_an_invalid_code() {
    let mut mocks = Mocks::default();
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(None));
    mocks
        .bans
        .expect_find_ban()
        .withf(|_, probe, _| probe.license.is_none() && probe.ip == Some(ip()))
        .times(1)
        .return_once(|_, _, _| Ok(None));
    let result = mocks
        .service()
        .sign_up_with_license_code(&application(false), license_sign_up(None))
        .await;
    assert!(matches!(result, Err(LicenseSignUpError::InvalidCode)));
}

#[tokio::test]
async fn a_used_code_is_the_same_invalid_code_and_opens_no_transaction() {
    let mut mocks = Mocks::default();
    let used = License {
        activated_at: Some(fixed_now()),
        ..unused_license(LicenseDuration::Lifetime)
    };
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(Some(used)));
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    let result = mocks
        .service()
        .sign_up_with_license_code(&application(false), license_sign_up(None))
        .await;
    assert!(matches!(result, Err(LicenseSignUpError::InvalidCode)));
}

#[tokio::test]
async fn a_banned_license_ip_or_device_is_refused_before_any_write() {
    let license = unused_license(LicenseDuration::Minutes(60));
    let license_id = license.id;
    let mut mocks = Mocks::default();
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(Some(license)));
    mocks
        .bans
        .expect_find_ban()
        .withf(move |_, probe, _| {
            probe.license == Some(license_id)
                && probe.ip == Some(ip())
                && probe.hardware_id.is_some()
        })
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::License)));
    mocks.unit_of_work.expect_begin().never();
    let result = mocks
        .service()
        .sign_up_with_license_code(&application(true), license_sign_up(Some("hw")))
        .await;
    assert!(matches!(
        result,
        Err(LicenseSignUpError::Banned(BanKind::License))
    ));
}

#[tokio::test]
async fn losing_the_redemption_race_rolls_the_new_user_back() {
    let mut mocks = Mocks::default();
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(Some(unused_license(LicenseDuration::Lifetime))));
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    let mut tx = MockTransaction::new();
    tx.expect_create_user()
        .times(1)
        .returning(|_, user| Ok(stored(user)));
    tx.expect_claim_license()
        .times(1)
        .return_once(|_, _, _, _| Ok(()));
    tx.expect_record_adjustment()
        .times(1)
        .returning(|_, _, _| Ok(()));
    expect_events(
        &mut tx,
        &[EventType::UserCreated, EventType::LicenseRedeemed],
    );
    // The claim lost at the commit: the store kept nothing, the user included.
    tx.expect_commit()
        .times(1)
        .return_once(|| Err(anyhow::Error::new(CommitConflict::LicenseClaimed)));
    mocks.expect_transaction(tx);
    let result = mocks
        .service()
        .sign_up_with_license_code(&application(false), license_sign_up(None))
        .await;
    assert!(matches!(result, Err(LicenseSignUpError::InvalidCode)));
}

#[tokio::test]
async fn a_license_sign_up_starts_the_time_now_and_commits_user_license_and_device_together() {
    let license = unused_license(LicenseDuration::Minutes(43_200));
    let license_id = license.id;
    let mut mocks = Mocks::default();
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(Some(license)));
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    let mut tx = MockTransaction::new();
    tx.expect_create_user()
        .withf(|_, user| {
            user.credential == Credential::LicenseCode
                && user.membership.active_until == Some(fixed_now() + Duration::minutes(43_200))
                && Username::parse(user.username.as_str()).is_ok()
        })
        .times(1)
        .returning(|_, user| Ok(stored(user)));
    tx.expect_claim_license()
        .withf(move |_, license, _, at| *license == license_id && *at == fixed_now())
        .times(1)
        .return_once(|_, _, _, _| Ok(()));
    tx.expect_register_device()
        .times(1)
        .returning(|_, _, hardware_id, at| {
            Ok(crate::user::Device {
                id: crate::values::DeviceId::generate(),
                hardware_id: hardware_id.clone(),
                registered_at: at,
            })
        });
    tx.expect_adjust_membership().never();
    tx.expect_record_adjustment()
        .withf(|_, _, adjustment| {
            adjustment.minutes == 43_200
                && adjustment.kind == crate::user::AdjustmentKind::License
                && adjustment.occurred_at == fixed_now()
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    expect_events(
        &mut tx,
        &[
            EventType::UserCreated,
            EventType::LicenseRedeemed,
            EventType::DeviceRegistered,
        ],
    );
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    let user = mocks
        .service()
        .sign_up_with_license_code(&application(true), license_sign_up(Some("hw")))
        .await
        .unwrap();
    assert!(user.membership.is_active(fixed_now()));
    assert!(user.username.starts_with("user-"));
}

#[tokio::test]
async fn a_busy_hasher_sheds_the_sign_up_before_any_write() {
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(None));
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .return_once(|_| Err(crate::errors::HashError::Busy));
    mocks.unit_of_work.expect_begin().never();
    let result = mocks
        .service()
        .sign_up(&application(false), password_sign_up(None))
        .await;
    assert!(matches!(result, Err(SignUpError::Busy)));
}

#[tokio::test]
async fn a_banned_client_is_refused_even_with_an_unknown_code_so_it_cannot_probe_codes() {
    let mut mocks = Mocks::default();
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(None));
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
    let result = mocks
        .service()
        .sign_up_with_license_code(&application(false), license_sign_up(None))
        .await;
    assert!(matches!(
        result,
        Err(LicenseSignUpError::Banned(BanKind::Ip))
    ));
}
