//! Legacy auth over HTTP: with it on, `app_context` and the user variables take the user's
//! credentials in headers instead of a session, under every rule of a sign-in (device,
//! membership, bans, failed-attempt limit); with it off, credentials in headers are ignored.

use crate::helpers::{AppCredentials, Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use reqwest::{Method, RequestBuilder};
use serde_json::json;

on_both_backends!(credentials_in_headers_work_only_with_legacy_auth_and_obey_sign_in_rules);

fn legacy(app: &TestApp, creds: &AppCredentials, method: Method, path: &str) -> RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret)
}

async fn credentials_in_headers_work_only_with_legacy_auth_and_obey_sign_in_rules(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.limits.enabled = true;
        settings.limits.failed_attempts_per_minute = 2;
    })
    .await;
    let creds = app.create_app(true).await;
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    let (status, _) = app
        .license_sign_up(&creds, json!({"code": code, "hardware_id": "hw-1"}))
        .await;
    assert_eq!(status, 200);
    let body =
        json!({"username": "legacy_user", "password": "secure_password123", "hardware_id": "hw-2"});
    assert_eq!(app.sign_up(&creds, body).await.0, 200);
    let context = "/api/integration/app_context";
    let by_code = |hardware_id: Option<&str>| {
        let request =
            legacy(&app, &creds, Method::GET, context).header("x-api-license-code", &code);
        match hardware_id {
            Some(hardware_id) => request.header("x-hardware-id", hardware_id),
            None => request,
        }
    };

    assert_error(&send(by_code(Some("hw-1"))).await, 401, "invalid_session");

    let (status, settings) = send(
        app.client
            .patch(app.url(&format!("/api/operator/applications/{}", creds.id)))
            .bearer_auth(crate::helpers::OPERATOR_TOKEN)
            .json(&json!({"legacy_auth": true})),
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    let (status, answer) = send(by_code(Some("hw-1"))).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["user"]["username"].is_string());
    assert_error(
        &send(by_code(None)).await,
        401,
        "device_authentication_required",
    );

    let by_password = |password: &str| {
        legacy(&app, &creds, Method::GET, context)
            .header("x-api-username", "legacy_user")
            .header("x-api-password", password)
            .header("x-hardware-id", "hw-2")
    };
    assert_error(
        &send(by_password("secure_password123")).await,
        403,
        "membership_inactive",
    );
    let half = legacy(&app, &creds, Method::GET, context).header("x-api-username", "legacy_user");
    let answer = send(half).await;
    assert_error(&answer, 422, "validation_failed");
    assert_eq!(answer.1["field"], "x-api-username");

    // User variables by credentials, as by session.
    let put = legacy(
        &app,
        &creds,
        Method::PUT,
        "/api/integration/user/variables/level",
    )
    .header("x-api-license-code", &code)
    .header("x-hardware-id", "hw-1")
    .json(&json!({"value": "7"}));
    assert_eq!(send(put).await.0, 200);
    let (status, listed) = send(
        legacy(&app, &creds, Method::GET, "/api/integration/user/variables")
            .header("x-api-license-code", &code)
            .header("x-hardware-id", "hw-1"),
    )
    .await;
    assert_eq!(
        (status.as_u16(), listed),
        (200, json!({"variables": [{"name": "level", "value": "7"}]}))
    );

    // Wrong credentials count against the failed-attempt limit, as at sign-in.
    assert_error(
        &send(by_password("wrong_password1")).await,
        401,
        "invalid_credentials",
    );
    assert_error(
        &send(by_password("wrong_password2")).await,
        401,
        "invalid_credentials",
    );
    assert_error(
        &send(by_password("wrong_password3")).await,
        429,
        "rate_limited",
    );
}
