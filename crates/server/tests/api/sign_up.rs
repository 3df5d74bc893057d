//! `POST /api/integration/sign_up` over HTTP.

use crate::helpers::{Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    the_documented_example_signs_up_a_user_and_records_ip_and_device,
    a_username_taken_in_any_case_or_width_is_refused_within_its_application_only,
    device_authentication_requires_a_hardware_id,
    a_banned_ip_or_device_is_refused_and_nothing_is_written,
    bad_input_gets_the_contract_errors_and_writes_nothing,
    a_ban_on_a_forwarded_address_applies_through_a_trusted_proxy_and_spoofing_is_ignored,
);

async fn the_documented_example_signs_up_a_user_and_records_ip_and_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let body = json!({"username": "john_doe", "password": "secure_password123", "hardware_id": "device-hardware-id"});
    let (status, user) = app.sign_up(&creds, body).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["username"], "john_doe");
    assert_eq!(user["membership"]["is_active"], false);
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());

    let (status, details) = app.user(&creds, "JOHN_DOE").await;
    assert_eq!(status, 200, "{details}");
    assert_eq!(details["id"], user["id"]);
    assert_eq!(details["credential_type"], "username_password");
    assert_eq!(details["signup_ip"], "127.0.0.1");
    assert_eq!(details["last_ip"], "127.0.0.1");
    assert_eq!(
        details["registered_devices"][0]["hardware_id"],
        "device-hardware-id"
    );
}

async fn a_username_taken_in_any_case_or_width_is_refused_within_its_application_only(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let (first, second) = (app.create_app(false).await, app.create_app(false).await);
    let sign_up = |name: &str| json!({"username": name, "password": "secure_password123"});
    assert_eq!(app.sign_up(&first, sign_up("Alice")).await.0, 200);
    for taken in ["alice", "ALICE", "ＡＬＩＣＥ"] {
        assert_error(
            &app.sign_up(&first, sign_up(taken)).await,
            422,
            "username_taken",
        );
    }
    let (status, other) = app.sign_up(&second, sign_up("alice")).await;
    assert_eq!(
        status, 200,
        "another application's users are separate: {other}"
    );
    let (_, fullwidth) = app.sign_up(&second, sign_up("ＢＯＢ")).await;
    assert_eq!(fullwidth["username"], "BOB", "stored as given after NFKC");
}

async fn device_authentication_requires_a_hardware_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (strict, relaxed) = (app.create_app(true).await, app.create_app(false).await);
    let body = json!({"username": "no_device", "password": "secure_password123"});
    let answer = app.sign_up(&strict, body.clone()).await;
    assert_error(&answer, 422, "validation_failed");
    assert_eq!(answer.1["field"], "hardware_id");
    assert_eq!(
        app.user(&strict, "no_device").await.0,
        404,
        "nothing was written"
    );
    assert_eq!(app.sign_up(&relaxed, body).await.0, 200);
}

async fn a_banned_ip_or_device_is_refused_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (banned, other) = (app.create_app(true).await, app.create_app(true).await);
    assert_eq!(
        app.ban(&banned, "hardware_id", "stolen-device").await.0,
        201
    );
    let body = |name: &str, hw: &str| json!({"username": name, "password": "secure_password123", "hardware_id": hw});
    assert_error(
        &app.sign_up(&banned, body("thief", "stolen-device")).await,
        403,
        "banned",
    );
    assert_eq!(app.user(&banned, "thief").await.0, 404);
    assert_eq!(
        app.sign_up(&other, body("thief", "stolen-device")).await.0,
        200,
        "bans are per application"
    );

    assert_eq!(app.ban(&banned, "ip", "127.0.0.0/8").await.0, 201);
    assert_error(
        &app.sign_up(&banned, body("someone", "clean-device")).await,
        403,
        "banned",
    );
    assert_eq!(app.user(&banned, "someone").await.0, 404);
}

async fn bad_input_gets_the_contract_errors_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let path = "/api/integration/sign_up";
    let valid = json!({"username": "valid_name", "password": "secure_password123"});

    let no_credentials = send(app.client.post(app.url(path)).json(&valid)).await;
    assert_error(&no_credentials, 401, "invalid_application_credentials");
    let mut wrong = creds.clone();
    wrong.api_secret = "lk_sec_wrong".into();
    let wrong_secret = app.sign_up(&wrong, valid.clone()).await;
    assert_eq!(
        wrong_secret, no_credentials,
        "one body whichever credential is wrong"
    );
    wrong.api_key = "lk_app_unknown".into();
    assert_eq!(app.sign_up(&wrong, valid.clone()).await, no_credentials);

    let form = send(
        app.integration(&creds, path)
            .header("content-type", "text/plain")
            .body(valid.to_string()),
    )
    .await;
    assert_error(&form, 415, "unsupported_media_type");
    let huge = json!({"username": "x".repeat(70_000), "password": "secure_password123"});
    assert_error(&app.sign_up(&creds, huge).await, 413, "payload_too_large");
    let broken = send(
        app.integration(&creds, path)
            .header("content-type", "application/json")
            .body("{\"username\":"),
    )
    .await;
    assert_error(&broken, 422, "invalid_json");

    let cases = [
        (json!({"password": "secure_password123"}), "username"),
        (json!({"username": "valid_name"}), "password"),
        (
            json!({"username": 42, "password": "secure_password123"}),
            "username",
        ),
        (
            json!({"username": "ab", "password": "secure_password123"}),
            "username",
        ),
        (
            json!({"username": "bad name", "password": "secure_password123"}),
            "username",
        ),
        (
            json!({"username": "valid_name", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "valid_name", "password": "x".repeat(129)}),
            "password",
        ),
        (
            json!({"username": "valid_name", "password": "secure_password123", "hardware_id": ""}),
            "hardware_id",
        ),
    ];
    for (body, field) in cases {
        let answer = app.sign_up(&creds, body.clone()).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{body}");
    }
    assert_eq!(
        app.user(&creds, "valid_name").await.0,
        404,
        "no bad request wrote a user"
    );
    let (status, _) = app.sign_up(&creds, valid).await;
    assert_eq!(
        status, 200,
        "without a content type the body is read as JSON too"
    );
}

async fn a_ban_on_a_forwarded_address_applies_through_a_trusted_proxy_and_spoofing_is_ignored(
    backend: Backend,
) {
    let behind_proxy =
        TestApp::spawn_with(backend, |s| s.http.trusted_proxies = "127.0.0.1".into()).await;
    let creds = behind_proxy.create_app(false).await;
    assert_eq!(
        behind_proxy.ban(&creds, "ip", "203.0.113.0/24").await.0,
        201
    );
    let body = json!({"username": "forwarded", "password": "secure_password123"});
    let request = |app: &TestApp, creds, forwarded: &str| {
        app.integration(creds, "/api/integration/sign_up")
            .header("x-forwarded-for", forwarded)
            .json(&body)
    };
    let banned = send(request(&behind_proxy, &creds, "203.0.113.50")).await;
    assert_error(&banned, 403, "banned");
    let spoofed_left = send(request(&behind_proxy, &creds, "203.0.113.50, 198.51.100.1")).await;
    assert_eq!(
        spoofed_left.0, 200,
        "the rightmost untrusted address is the client: {}",
        spoofed_left.1
    );
    let (_, details) = behind_proxy.user(&creds, "forwarded").await;
    assert_eq!(details["signup_ip"], "198.51.100.1");

    let direct = TestApp::spawn(backend).await;
    let creds = direct.create_app(false).await;
    assert_eq!(direct.ban(&creds, "ip", "203.0.113.0/24").await.0, 201);
    let spoofed = send(request(&direct, &creds, "203.0.113.50")).await;
    assert_eq!(
        spoofed.0, 200,
        "an untrusted peer's header is ignored: {}",
        spoofed.1
    );
}
