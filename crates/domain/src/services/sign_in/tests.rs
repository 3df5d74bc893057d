use super::super::test_support::{
    Mocks, application, expect_events, fixed_now, ip, unused_license,
};
use super::super::{ActivateLicense, Credentials, Login, SignInApi};
use crate::ban::BanKind;
use crate::errors::{ActivateLicenseError, AppContextError, CommitConflict, LoginError};
use crate::event::{EventType, RequestContext};
use crate::license::{License, LicenseDuration};
use crate::ports::MockTransaction;
use crate::services::Caller;
use crate::session::Session;
use crate::user::{Credential, Device, Membership, User};
use crate::values::{
    DeviceId, HardwareId, LicenseCode, Password, PasswordHash, SessionId, UserId, Username,
};
use chrono::Duration;

fn member(membership: Membership) -> User {
    User {
        id: UserId::generate(),
        username: "john_doe".into(),
        credential: Credential::Password(PasswordHash::from_phc("$argon2id$stored".into())),
        membership,
        signup_ip: None,
        last_ip: None,
        device_limit: None,
        session_limit: None,
        created_at: fixed_now(),
    }
}

fn active() -> Membership {
    Membership {
        is_lifetime: true,
        active_until: None,
    }
}

fn login(hardware_id: Option<&str>) -> Login {
    Login {
        credentials: Credentials::Password {
            username: Username::parse("john_doe").unwrap(),
            password: Password::parse("secure_password123").unwrap(),
        },
        hardware_id: hardware_id.map(|id| HardwareId::parse(id).unwrap()),
        origin: RequestContext::from_ip(ip()),
    }
}

fn device(id: &str) -> Device {
    Device {
        id: DeviceId::generate(),
        hardware_id: HardwareId::parse(id).unwrap(),
        registered_at: fixed_now(),
    }
}

/// A user who exists, whose password matches, and whom no ban refuses.
fn known_user(mocks: &mut Mocks, user: &User) {
    let found = user.clone();
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(Some(found)));
    mocks
        .hasher
        .expect_verify()
        .withf(|hash, _| hash.is_some())
        .times(1)
        .return_once(|_, _| Ok(true));
    mocks
        .bans
        .expect_find_ban()
        .times(2)
        .returning(|_, _, _| Ok(None));
    mocks.hasher.expect_needs_rehash().returning(|_| false);
}

#[tokio::test]
async fn device_authentication_requires_a_hardware_id_at_sign_in() {
    let result = Mocks::default()
        .service()
        .login(&application(true), login(None))
        .await;
    assert!(matches!(
        result,
        Err(LoginError::DeviceAuthenticationRequired)
    ));
}

#[tokio::test]
async fn a_banned_ip_is_refused_before_any_hashing() {
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .withf(|_, p, _| p.user.is_none())
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
    mocks.hasher.expect_verify().never();
    let result = mocks
        .service()
        .login(&application(true), login(Some("hw")))
        .await;
    assert!(matches!(result, Err(LoginError::Banned(BanKind::Ip))));
}

#[tokio::test]
async fn an_unknown_user_is_verified_against_a_dummy_hash_and_gets_the_wrong_password_answer() {
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
        .expect_verify()
        .withf(|hash, _| hash.is_none())
        .times(1)
        .return_once(|_, _| Ok(false));
    let result = mocks
        .service()
        .login(&application(false), login(None))
        .await;
    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials() {
    let mut mocks = Mocks::default();
    let user = member(active());
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(Some(user)));
    mocks
        .hasher
        .expect_verify()
        .times(1)
        .return_once(|_, _| Ok(false));
    mocks.unit_of_work.expect_begin().never();
    let result = mocks
        .service()
        .login(&application(false), login(None))
        .await;
    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn a_banned_user_is_refused_only_after_the_password_matches() {
    let mut mocks = Mocks::default();
    let user = member(active());
    let id = user.id;
    mocks
        .bans
        .expect_find_ban()
        .withf(|_, p, _| p.user.is_none())
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(Some(user)));
    mocks
        .hasher
        .expect_verify()
        .times(1)
        .return_once(|_, _| Ok(true));
    mocks.hasher.expect_needs_rehash().returning(|_| false);
    mocks
        .bans
        .expect_find_ban()
        .withf(move |_, p, _| p.user == Some(id))
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::User)));
    let result = mocks
        .service()
        .login(&application(false), login(None))
        .await;
    assert!(matches!(result, Err(LoginError::Banned(BanKind::User))));
}

#[tokio::test]
async fn an_inactive_membership_cannot_sign_in() {
    let mut mocks = Mocks::default();
    known_user(&mut mocks, &member(Membership::default()));
    mocks.unit_of_work.expect_begin().never();
    let result = mocks
        .service()
        .login(&application(false), login(None))
        .await;
    assert!(matches!(result, Err(LoginError::MembershipInactive)));
}

#[tokio::test]
async fn a_new_device_beyond_the_limit_is_refused_and_nothing_commits() {
    let mut mocks = Mocks::default();
    let user = member(active());
    known_user(&mut mocks, &user);
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_find_device()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    tx.expect_count_devices().times(1).return_once(|_, _| Ok(1));
    tx.expect_register_device().never();
    tx.expect_commit().never();
    mocks.expect_transaction(tx);
    let result = mocks
        .service()
        .login(&application(true), login(Some("second-device")))
        .await;
    assert!(matches!(result, Err(LoginError::MaxDevicesReached)));
}

#[tokio::test]
async fn a_users_own_device_limit_overrides_the_applications() {
    let mut mocks = Mocks::default();
    let user = User {
        device_limit: Some(3),
        ..member(active())
    };
    known_user(&mut mocks, &user);
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_find_device()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    tx.expect_count_devices().times(1).return_once(|_, _| Ok(2));
    tx.expect_register_device()
        .times(1)
        .returning(|_, _, hw, _| Ok(device(hw.as_str())));
    expect_events(&mut tx, &[EventType::DeviceRegistered]);
    tx.expect_revoke_device_sessions()
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    tx.expect_count_live_sessions()
        .times(1)
        .return_once(|_, _, _| Ok(0));
    tx.expect_create_session().times(1).returning(|_, _| Ok(()));
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    assert!(
        mocks
            .service()
            .login(&application(true), login(Some("third")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_known_device_signs_in_replacing_its_older_sessions_with_a_five_minute_session() {
    let mut mocks = Mocks::default();
    let user = member(active());
    known_user(&mut mocks, &user);
    let known = device("laptop");
    let known_id = known.id;
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .withf(|_, _, at| *at == Some(ip()))
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_find_device()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(known)));
    tx.expect_count_devices().never();
    tx.expect_revoke_device_sessions()
        .withf(move |_, _, device, _| *device == known_id)
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    tx.expect_count_live_sessions()
        .times(1)
        .return_once(|_, _, _| Ok(0));
    tx.expect_create_session()
        .withf(move |_, session| {
            session.device == Some(known_id)
                && session.expires_at == fixed_now() + Duration::minutes(5)
        })
        .times(1)
        .returning(|_, _| Ok(()));
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    let signed_in = mocks
        .service()
        .login(&application(true), login(Some("laptop")))
        .await
        .unwrap();
    assert!(signed_in.token.expose().starts_with("lk_ses_"));
    assert_eq!(signed_in.expires_at, fixed_now() + Duration::minutes(5));
}

#[tokio::test]
async fn too_many_live_sessions_are_refused() {
    let mut mocks = Mocks::default();
    let user = member(active());
    known_user(&mut mocks, &user);
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_count_live_sessions()
        .times(1)
        .return_once(|_, _, _| Ok(1));
    tx.expect_create_session().never();
    tx.expect_commit().never();
    mocks.expect_transaction(tx);
    let result = mocks
        .service()
        .login(&application(false), login(None))
        .await;
    assert!(matches!(result, Err(LoginError::MaxSessionsReached)));
}

#[tokio::test]
async fn a_license_code_signs_in_the_user_it_signed_up() {
    let mut mocks = Mocks::default();
    let user = User {
        credential: Credential::LicenseCode,
        ..member(active())
    };
    let user_id = user.id;
    let license = License {
        activated_by: Some(user_id),
        activated_at: Some(fixed_now()),
        ..unused_license(LicenseDuration::Lifetime)
    };
    let license_id = license.id;
    mocks
        .bans
        .expect_find_ban()
        .withf(|_, p, _| p.user.is_none())
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(move |_, _| Ok(Some(license)));
    mocks
        .users
        .expect_get()
        .times(1)
        .return_once(move |_, _| Ok(Some(user.clone())));
    mocks
        .bans
        .expect_find_ban()
        .withf(move |_, p, _| p.user == Some(user_id) && p.license == Some(license_id))
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks.hasher.expect_verify().never();
    let mut tx = MockTransaction::new();
    let locked = User {
        credential: Credential::LicenseCode,
        id: user_id,
        ..member(active())
    };
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(locked)));
    tx.expect_count_live_sessions()
        .times(1)
        .return_once(|_, _, _| Ok(0));
    tx.expect_create_session().times(1).returning(|_, _| Ok(()));
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    let request = Login {
        credentials: Credentials::LicenseCode(LicenseCode::parse("ABCD").unwrap()),
        hardware_id: None,
        origin: RequestContext::from_ip(ip()),
    };
    assert!(
        mocks
            .service()
            .login(&application(false), request)
            .await
            .is_ok()
    );
}

fn activation() -> ActivateLicense {
    ActivateLicense {
        code: LicenseCode::parse("ABCD-EFGH").unwrap(),
        username: Username::parse("john_doe").unwrap(),
        password: Password::parse("secure_password123").unwrap(),
        context: RequestContext::from_ip(ip()),
    }
}

#[tokio::test]
async fn activation_adds_minutes_to_the_end_of_an_active_membership_and_records_it() {
    let until = fixed_now() + Duration::days(10);
    let user = member(Membership {
        is_lifetime: false,
        active_until: Some(until),
    });
    let mut mocks = Mocks::default();
    known_user(&mut mocks, &user);
    let license = unused_license(LicenseDuration::Minutes(60));
    let license_id = license.id;
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(move |_, _| Ok(Some(license)));
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_claim_license()
        .withf(move |_, license, _, at| *license == license_id && *at == fixed_now())
        .times(1)
        .return_once(|_, _, _, _| Ok(()));
    tx.expect_adjust_membership()
        .withf(move |_, _, membership, adjustment| {
            membership.active_until == Some(until + Duration::minutes(60))
                && adjustment.minutes == 60
                && adjustment.license_id == Some(license_id)
                && adjustment.kind == crate::user::AdjustmentKind::License
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    expect_events(
        &mut tx,
        &[EventType::LicenseActivated, EventType::MembershipAdjusted],
    );
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    let adjustment = mocks
        .service()
        .activate_license(&application(false), activation())
        .await
        .unwrap();
    assert_eq!(adjustment.minutes, 60);
    assert!(!adjustment.grants_lifetime_access);
}

#[tokio::test]
async fn an_activation_that_loses_the_claim_at_the_commit_is_an_invalid_code() {
    let user = member(active());
    let mut mocks = Mocks::default();
    known_user(&mut mocks, &user);
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(|_, _| Ok(Some(unused_license(LicenseDuration::Minutes(60)))));
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_claim_license()
        .times(1)
        .return_once(|_, _, _, _| Ok(()));
    tx.expect_adjust_membership()
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    expect_events(
        &mut tx,
        &[EventType::LicenseActivated, EventType::MembershipAdjusted],
    );
    // Another request redeemed the code between the lookup and the commit: the store kept
    // nothing of this unit, the membership's extension included.
    tx.expect_commit()
        .times(1)
        .return_once(|| Err(anyhow::Error::new(CommitConflict::LicenseClaimed)));
    mocks.expect_transaction(tx);
    let result = mocks
        .service()
        .activate_license(&application(false), activation())
        .await;
    assert!(
        matches!(result, Err(ActivateLicenseError::InvalidCode)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_used_code_cannot_be_activated() {
    let user = member(active());
    let mut mocks = Mocks::default();
    known_user(&mut mocks, &user);
    let used = License {
        activated_at: Some(fixed_now()),
        ..unused_license(LicenseDuration::Lifetime)
    };
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(move |_, _| Ok(Some(used)));
    mocks.unit_of_work.expect_begin().never();
    let result = mocks
        .service()
        .activate_license(&application(false), activation())
        .await;
    assert!(matches!(result, Err(ActivateLicenseError::InvalidCode)));
}

#[tokio::test]
async fn activation_with_a_wrong_password_is_invalid_credentials() {
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
        .return_once(|_, _| Ok(Some(member(active()))));
    mocks
        .hasher
        .expect_verify()
        .times(1)
        .return_once(|_, _| Ok(false));
    let result = mocks
        .service()
        .activate_license(&application(false), activation())
        .await;
    assert!(matches!(
        result,
        Err(ActivateLicenseError::InvalidCredentials)
    ));
}

fn session(expires_in: Duration) -> Session {
    Session {
        id: SessionId::generate(),
        user: UserId::generate(),
        expires_at: fixed_now() + expires_in,
        revoked_at: None,
    }
}

#[tokio::test]
async fn an_expired_session_has_no_context() {
    let mut mocks = Mocks::default();
    mocks
        .sessions
        .expect_find_by_token()
        .times(1)
        .return_once(|_, _| Ok(Some(session(Duration::seconds(-1)))));
    let result = mocks
        .service()
        .app_context(
            &application(false),
            Caller::Session("lk_ses_x".into()),
            ip(),
        )
        .await;
    assert!(matches!(result, Err(AppContextError::InvalidSession)));
}

#[tokio::test]
async fn a_live_session_reads_the_application_its_variables_and_the_user() {
    let mut mocks = Mocks::default();
    let live = session(Duration::minutes(1));
    let user = User {
        id: live.user,
        ..member(active())
    };
    mocks
        .sessions
        .expect_find_by_token()
        .withf(|_, digest| *digest == crate::values::Digest::of("lk_ses_token"))
        .times(1)
        .return_once(move |_, _| Ok(Some(live)));
    mocks
        .users
        .expect_get()
        .times(1)
        .return_once(move |_, _| Ok(Some(user)));
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks.variables.expect_list().times(1).return_once(|_| {
        Ok(vec![crate::session::Variable {
            name: "motd".into(),
            value: "hello".into(),
            is_public: false,
        }])
    });
    // An active member sees every file, private ones included.
    mocks
        .files
        .expect_list_by_name()
        .withf(|_, public_only, limit| !public_only && *limit == crate::services::MAX_LISTED_FILES)
        .times(1)
        .return_once(|_, _, _| Ok(Vec::new()));
    let context = mocks
        .service()
        .app_context(
            &application(false),
            Caller::Session("lk_ses_token".into()),
            ip(),
        )
        .await
        .unwrap();
    assert_eq!(context.variables[0].name, "motd");
    assert_eq!(context.server_time, fixed_now());
}

#[tokio::test]
async fn a_banned_users_session_stops_working() {
    let mut mocks = Mocks::default();
    let live = session(Duration::minutes(1));
    let user = User {
        id: live.user,
        ..member(active())
    };
    mocks
        .sessions
        .expect_find_by_token()
        .times(1)
        .return_once(move |_, _| Ok(Some(live)));
    mocks
        .users
        .expect_get()
        .times(1)
        .return_once(move |_, _| Ok(Some(user)));
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::User)));
    let result = mocks
        .service()
        .app_context(
            &application(false),
            Caller::Session("lk_ses_token".into()),
            ip(),
        )
        .await;
    assert!(matches!(
        result,
        Err(AppContextError::Banned(BanKind::User))
    ));
}

#[tokio::test]
async fn a_weak_password_hash_is_replaced_at_a_successful_sign_in() {
    let mut mocks = Mocks::default();
    let user = member(active());
    let found = user.clone();
    mocks
        .users
        .expect_find_by_username()
        .times(1)
        .return_once(|_, _| Ok(Some(found)));
    mocks
        .hasher
        .expect_verify()
        .times(1)
        .return_once(|_, _| Ok(true));
    mocks
        .bans
        .expect_find_ban()
        .times(2)
        .returning(|_, _, _| Ok(None));
    mocks
        .hasher
        .expect_needs_rehash()
        .times(1)
        .returning(|_| true);
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .return_once(|_| Ok(PasswordHash::from_phc("$argon2id$stronger".into())));
    let mut tx = MockTransaction::new();
    tx.expect_lock_user()
        .times(1)
        .return_once(move |_, _, _| Ok(Some(user)));
    tx.expect_set_password_hash()
        .withf(|_, _, hash| hash.as_str() == "$argon2id$stronger")
        .times(1)
        .returning(|_, _, _| Ok(()));
    tx.expect_count_live_sessions()
        .times(1)
        .return_once(|_, _, _| Ok(0));
    tx.expect_create_session().times(1).returning(|_, _| Ok(()));
    tx.expect_commit().times(1).return_once(|| Ok(()));
    mocks.expect_transaction(tx);
    assert!(
        mocks
            .service()
            .login(&application(false), login(None))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_code_a_password_user_activated_is_no_credential() {
    let mut mocks = Mocks::default();
    let user = member(active());
    let license = License {
        activated_by: Some(user.id),
        activated_at: Some(fixed_now()),
        ..unused_license(LicenseDuration::Minutes(60))
    };
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .licenses
        .expect_find_by_code()
        .times(1)
        .return_once(move |_, _| Ok(Some(license)));
    mocks
        .users
        .expect_get()
        .times(1)
        .return_once(move |_, _| Ok(Some(user)));
    mocks.unit_of_work.expect_begin().never();
    let request = Login {
        credentials: Credentials::LicenseCode(LicenseCode::parse("ABCD").unwrap()),
        hardware_id: None,
        origin: RequestContext::from_ip(ip()),
    };
    let result = mocks.service().login(&application(false), request).await;
    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
}

fn variables() -> Vec<crate::session::Variable> {
    ["public_motd", "private_key_url"]
        .into_iter()
        .map(|name| crate::session::Variable {
            name: name.into(),
            value: "v".into(),
            is_public: name.starts_with("public"),
        })
        .collect()
}

#[tokio::test]
async fn without_a_session_only_an_application_with_anonymous_access_answers() {
    let mut app = application(false);
    let refused = Mocks::default()
        .service()
        .app_context(&app, Caller::Anonymous, ip())
        .await;
    assert!(matches!(refused, Err(AppContextError::InvalidSession)));

    app.settings.anonymous_access = true;
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .withf(|_, probe, _| probe.ip == Some(ip()) && probe.user.is_none())
        .times(1)
        .return_once(|_, _, _| Ok(None));
    mocks
        .variables
        .expect_list()
        .times(1)
        .return_once(|_| Ok(variables()));
    mocks
        .files
        .expect_list_by_name()
        .withf(|_, public_only, _| *public_only)
        .times(1)
        .return_once(|_, _, _| Ok(Vec::new()));
    let context = mocks
        .service()
        .app_context(&app, Caller::Anonymous, ip())
        .await
        .unwrap();
    assert_eq!(context.user, None);
    let names: Vec<_> = context.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, vec!["public_motd"], "only the public variables");
}

#[tokio::test]
async fn an_anonymous_caller_from_a_banned_address_is_refused() {
    let mut app = application(false);
    app.settings.anonymous_access = true;
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
    mocks.variables.expect_list().never();
    let refused = mocks
        .service()
        .app_context(&app, Caller::Anonymous, ip())
        .await;
    assert!(matches!(refused, Err(AppContextError::Banned(BanKind::Ip))));
}

#[tokio::test]
async fn credentials_instead_of_a_session_need_legacy_auth_and_pass_every_sign_in_rule() {
    let login = Login {
        credentials: Credentials::LicenseCode(crate::values::LicenseCode::parse("ABCD").unwrap()),
        hardware_id: None,
        origin: RequestContext::from_ip(ip()),
    };
    let refused = Mocks::default()
        .service()
        .app_context(
            &application(false),
            Caller::Credentials(login.clone()),
            ip(),
        )
        .await;
    assert!(
        matches!(refused, Err(AppContextError::InvalidSession)),
        "legacy auth is off"
    );

    let mut app = application(false);
    app.settings.legacy_auth = true;
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .times(1)
        .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
    let banned = mocks
        .service()
        .app_context(&app, Caller::Credentials(login), ip())
        .await;
    assert!(
        matches!(
            banned,
            Err(AppContextError::SignIn(LoginError::Banned(BanKind::Ip)))
        ),
        "checked like a sign-in: bans first"
    );
}
