//! Sign-in, license activation and the application context over HTTP.

use crate::helpers::{AppCredentials, Backend, TestApp, all_at_once, assert_error, send};
use crate::on_both_backends;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

on_both_backends!(
    membership_time_adds_up_across_two_activations_and_a_used_code_is_refused,
    a_member_signs_in_and_reads_the_application_context,
    unknown_users_and_wrong_passwords_get_one_answer,
    a_new_device_beyond_the_limit_is_refused,
    sixteen_concurrent_sign_ins_from_new_devices_register_exactly_the_limit,
    an_expired_session_is_refused,
    a_banned_users_live_session_stops_working_and_cross_bans_are_written,
    a_license_user_signs_in_with_the_code,
    a_weaker_stored_hash_is_upgraded_at_the_next_sign_in,
);

const PASSWORD: &str = "secure_password123";

impl TestApp {
    async fn login(
        &self,
        app: &AppCredentials,
        username: &str,
        hardware_id: Option<&str>,
    ) -> (reqwest::StatusCode, Value) {
        let body = json!({"credentials": {"username": username, "password": PASSWORD}, "hardware_id": hardware_id});
        send(
            self.integration(app, "/api/integration/auth/login")
                .json(&body),
        )
        .await
    }

    async fn activate(
        &self,
        app: &AppCredentials,
        username: &str,
        code: &str,
    ) -> (reqwest::StatusCode, Value) {
        let body = json!({"code": code, "username": username, "password": PASSWORD});
        send(
            self.integration(app, "/api/integration/activate_license")
                .json(&body),
        )
        .await
    }

    async fn app_context(&self, app: &AppCredentials, token: &str) -> (reqwest::StatusCode, Value) {
        let request = self
            .client
            .get(self.url("/api/integration/app_context"))
            .header("x-api-key", &app.api_key)
            .header("x-api-secret", &app.api_secret)
            .bearer_auth(token);
        send(request).await
    }

    async fn settings(&self, app: &AppCredentials, body: Value) {
        let (status, settings) = send(
            self.admin(app, Method::PATCH, "/api/admin/settings")
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{settings}");
    }

    /// A password user with `minutes` of membership.
    async fn member(&self, app: &AppCredentials, username: &str, minutes: u32) {
        let (status, body) = self
            .sign_up(
                app,
                json!({"username": username, "password": PASSWORD, "hardware_id": "signup-device"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let code = self.mint(app, 1, Some(minutes)).await.remove(0);
        assert_eq!(self.activate(app, username, &code).await.0, 200);
    }
}

async fn membership_time_adds_up_across_two_activations_and_a_used_code_is_refused(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    assert_eq!(
        app.sign_up(&creds, json!({"username": "buyer", "password": PASSWORD}))
            .await
            .0,
        200
    );
    let codes = app.mint(&creds, 2, Some(60)).await;
    let (status, first) = app.activate(&creds, "buyer", &codes[0]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["type"], "license");
    assert_eq!(first["minutes"], 60);
    assert_eq!(first["grants_lifetime_access"], false);
    assert!(first["license_id"].is_string());
    assert_eq!(app.activate(&creds, "buyer", &codes[1]).await.0, 200);

    let (_, user) = app.user(&creds, "buyer").await;
    let until =
        chrono::DateTime::parse_from_rfc3339(user["membership"]["active_until"].as_str().unwrap())
            .unwrap();
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (118..=120).contains(&minutes),
        "two hours in all, got {minutes} minutes"
    );
    assert_eq!(user["membership"]["is_active"], true);

    let used = app.activate(&creds, "buyer", &codes[0]).await;
    assert_error(&used, 401, "invalid_license_code");
    let unknown = app.activate(&creds, "buyer", "NO-SUCH-CODE").await;
    assert_eq!(unknown, used, "one answer for used and unknown codes");
    let lifetime = app.mint(&creds, 1, None).await.remove(0);
    let (_, adjustment) = app.activate(&creds, "buyer", &lifetime).await;
    assert_eq!(adjustment["grants_lifetime_access"], true);
    assert_eq!(
        app.user(&creds, "buyer").await.1["membership"]["is_lifetime"],
        true
    );
    let wrong = send(
        app.integration(&creds, "/api/integration/activate_license")
            .json(&json!({"code": lifetime, "username": "buyer", "password": "wrong_password"})),
    )
    .await;
    assert_error(&wrong, 401, "invalid_credentials");
}

async fn a_member_signs_in_and_reads_the_application_context(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    app.member(&creds, "reader", 60).await;
    let (status, session) = app.login(&creds, "reader", Some("signup-device")).await;
    assert_eq!(status, 200, "{session}");
    let token = session["session_token"].as_str().unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
    let seconds = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!(
        (295..=300).contains(&seconds),
        "five minutes by default, got {seconds} s"
    );

    let (status, context) = app.app_context(&creds, token).await;
    assert_eq!(status, 200, "{context}");
    assert_eq!(context["application"]["name"], "Test App");
    assert_eq!(context["application"]["variables"], json!([]));
    assert_eq!(context["user"]["username"], "reader");
    assert_eq!(context["user"]["membership"]["is_active"], true);
    assert!(context["server_time"].is_string());

    assert_error(
        &app.app_context(&creds, "lk_ses_not_a_session").await,
        401,
        "invalid_session",
    );
    let no_device = app.login(&creds, "reader", None).await;
    assert_error(&no_device, 401, "device_authentication_required");

    // A second sign-in on the same device replaces the first session (limit 1 is not hit).
    let (status, again) = app.login(&creds, "reader", Some("signup-device")).await;
    assert_eq!(status, 200, "{again}");
    assert_error(
        &app.app_context(&creds, token).await,
        401,
        "invalid_session",
    );
    let (_, details) = app.user(&creds, "reader").await;
    assert_eq!(details["last_ip"], "127.0.0.1");
}

async fn unknown_users_and_wrong_passwords_get_one_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    app.member(&creds, "someone", 60).await;
    let unknown = app.login(&creds, "nobody", None).await;
    assert_error(&unknown, 401, "invalid_credentials");
    let body = json!({"credentials": {"username": "someone", "password": "not_the_password"}});
    let wrong = send(
        app.integration(&creds, "/api/integration/auth/login")
            .json(&body),
    )
    .await;
    assert_eq!(wrong, unknown);
    let inactive_user = json!({"username": "expired", "password": PASSWORD});
    assert_eq!(app.sign_up(&creds, inactive_user).await.0, 200);
    assert_error(
        &app.login(&creds, "expired", None).await,
        403,
        "membership_inactive",
    );
    let neither = send(
        app.integration(&creds, "/api/integration/auth/login")
            .json(&json!({"credentials": {}})),
    )
    .await;
    assert_error(&neither, 422, "validation_failed");
    assert_eq!(neither.1["field"], "credentials");
}

async fn a_new_device_beyond_the_limit_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    app.member(&creds, "one_device", 60).await;
    assert_eq!(
        app.login(&creds, "one_device", Some("signup-device"))
            .await
            .0,
        200
    );
    assert_error(
        &app.login(&creds, "one_device", Some("another-device"))
            .await,
        401,
        "maximum_number_of_devices_reached",
    );
    let (_, details) = app.user(&creds, "one_device").await;
    assert_eq!(details["registered_devices"].as_array().unwrap().len(), 1);
}

async fn sixteen_concurrent_sign_ins_from_new_devices_register_exactly_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    app.settings(
        &creds,
        json!({"allowed_number_of_devices": 3, "allowed_number_of_simultaneous_sessions": 100}),
    )
    .await;
    // Signed up from device-0, one of the sixteen: it passes, and two new ones fill the limit.
    let sign_up = json!({"username": "racer", "password": PASSWORD, "hardware_id": "device-0"});
    assert_eq!(app.sign_up(&creds, sign_up).await.0, 200);
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    assert_eq!(app.activate(&creds, "racer", &code).await.0, 200);

    let logins = (0..16)
        .map(|i| {
            let body = json!({"credentials": {"username": "racer", "password": PASSWORD}, "hardware_id": format!("device-{i}")});
            app.integration(&creds, "/api/integration/auth/login").json(&body)
        })
        .collect();
    let answers = all_at_once(logins).await;
    let signed_in = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| {
            *status == 401 && body["code"] == "maximum_number_of_devices_reached"
        })
        .count();
    assert_eq!((signed_in, refused), (3, 13), "{answers:?}");
    let (_, details) = app.user(&creds, "racer").await;
    assert_eq!(details["registered_devices"].as_array().unwrap().len(), 3);
}

async fn an_expired_session_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    app.member(&creds, "short_lived", 60).await;
    let (_, session) = app.login(&creds, "short_lived", None).await;
    let token = session["session_token"].as_str().unwrap();
    assert_eq!(app.app_context(&creds, token).await.0, 200);
    // Time passes: the session's end is moved into the past.
    let db = app.db.store.connection();
    let past = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "UPDATE sessions SET expires_at = now() - interval '1 second'"
        }
        _ => "UPDATE sessions SET expires_at = '2000-01-01 00:00:00+00:00'",
    };
    db.execute_raw(Statement::from_string(db.get_database_backend(), past))
        .await
        .unwrap();
    assert_error(
        &app.app_context(&creds, token).await,
        401,
        "invalid_session",
    );
}

async fn a_banned_users_live_session_stops_working_and_cross_bans_are_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    app.member(&creds, "mallory", 60).await;
    let (_, session) = app.login(&creds, "mallory", Some("signup-device")).await;
    let token = session["session_token"].as_str().unwrap();
    assert_eq!(app.app_context(&creds, token).await.0, 200);

    // A user ban ends the user's sessions at once and bans their address and devices.
    assert_eq!(app.ban(&creds, "user", "mallory").await.0, 201);
    assert_error(
        &app.app_context(&creds, token).await,
        401,
        "invalid_session",
    );
    assert_error(
        &app.login(&creds, "mallory", Some("signup-device")).await,
        403,
        "banned",
    );
    let (_, bans) = send(app.admin(&creds, Method::GET, "/api/admin/bans")).await;
    let kinds: Vec<_> = bans["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ban| ban["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kinds.contains(&"ip".to_owned()) && kinds.contains(&"hardware_id".to_owned()),
        "{bans}"
    );

    // Cross-banning: a request refused for its banned device (checked before the password)
    // proved nothing, so nothing more is banned; a device never bans an address.
    let other = app.create_app(true).await;
    app.member(&other, "innocent", 60).await;
    assert_eq!(app.ban(&other, "hardware_id", "stolen-device").await.0, 201);
    assert_error(
        &app.login(&other, "innocent", Some("stolen-device")).await,
        403,
        "banned",
    );
    let (_, bans) = send(app.admin(&other, Method::GET, "/api/admin/bans")).await;
    let kinds: Vec<_> = bans["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ban| ban["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["hardware_id".to_owned()], "{bans}");
}

async fn a_license_user_signs_in_with_the_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    assert_eq!(
        app.license_sign_up(&creds, json!({"code": code, "hardware_id": "hw"}))
            .await
            .0,
        200
    );
    let body = json!({"credentials": {"code": code.to_lowercase()}, "hardware_id": "hw"});
    let (status, session) = send(
        app.integration(&creds, "/api/integration/auth/login")
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let unused = app.mint(&creds, 1, Some(60)).await.remove(0);
    let body = json!({"credentials": {"code": unused}, "hardware_id": "hw"});
    assert_error(
        &send(
            app.integration(&creds, "/api/integration/auth/login")
                .json(&body),
        )
        .await,
        401,
        "invalid_credentials",
    );
}

async fn stored_hash(app: &TestApp, username: &str) -> String {
    let db = app.db.store.connection();
    let sql = format!("SELECT password_hash FROM users WHERE username = '{username}'");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "password_hash").unwrap()
}

async fn a_weaker_stored_hash_is_upgraded_at_the_next_sign_in(backend: Backend) {
    use argon2::password_hash::{SaltString, rand_core::OsRng};
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    app.member(&creds, "legacy", 60).await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut OsRng);
    let phc = argon2::PasswordHasher::hash_password(&weak, PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let db = app.db.store.connection();
    let sql = format!("UPDATE users SET password_hash = '{phc}' WHERE username = 'legacy'");
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    assert!(stored_hash(&app, "legacy").await.contains("m=8192,t=1,p=1"));

    let (status, body) = app.login(&creds, "legacy", None).await;
    assert_eq!(status, 200, "the weaker hash still verifies: {body}");
    assert!(
        stored_hash(&app, "legacy")
            .await
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    // Signing in again verifies against the new hash: the answer is the session limit (the
    // first session, tied to no device, is still live), not a credentials error.
    let again = app.login(&creds, "legacy", None).await;
    assert_error(
        &again,
        401,
        "maximum_number_of_simultaneous_sessions_reached",
    );
}
