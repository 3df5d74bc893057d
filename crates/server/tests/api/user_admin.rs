//! The admin API's user management over HTTP: membership time, lifetime access, devices,
//! limits, the user list and variables.

use crate::helpers::{AppCredentials, Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    membership_time_is_added_and_removed_but_not_on_a_lifetime_membership,
    a_device_beyond_the_limit_is_allowed_after_reset_devices_or_a_higher_user_limit,
    users_are_listed_a_page_at_a_time,
    variables_are_managed_and_shown_in_the_application_context,
);

const PASSWORD: &str = "secure_password123";

async fn post(
    app: &TestApp,
    creds: &AppCredentials,
    path: &str,
    body: Value,
) -> (reqwest::StatusCode, Value) {
    send(app.admin(creds, Method::POST, path).json(&body)).await
}

async fn user_id(app: &TestApp, creds: &AppCredentials, name: &str) -> String {
    app.user(creds, name).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn login_body(name: &str, device: &str) -> Value {
    json!({"credentials": {"username": name, "password": PASSWORD}, "hardware_id": device})
}

async fn membership_time_is_added_and_removed_but_not_on_a_lifetime_membership(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    assert_eq!(
        app.sign_up(&creds, json!({"username": "timed", "password": PASSWORD}))
            .await
            .0,
        200
    );
    let id = user_id(&app, &creds, "timed").await;
    let adjust =
        |minutes: i64, action: &str| json!({"user_id": id, "minutes": minutes, "action": action});

    let (status, user) = post(
        &app,
        &creds,
        "/api/admin/adjust-membership-time",
        adjust(120, "add"),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["membership"]["is_active"], true);
    let (_, user) = post(
        &app,
        &creds,
        "/api/admin/adjust-membership-time",
        adjust(60, "remove"),
    )
    .await;
    let until =
        chrono::DateTime::parse_from_rfc3339(user["membership"]["active_until"].as_str().unwrap())
            .unwrap();
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (58..=60).contains(&minutes),
        "an hour left, got {minutes} minutes"
    );

    let (status, user) = post(
        &app,
        &creds,
        "/api/admin/lifetime-access",
        json!({"user_id": id, "action": "grant"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["membership"]["is_lifetime"], true);
    let lifetime = post(
        &app,
        &creds,
        "/api/admin/adjust-membership-time",
        adjust(60, "add"),
    )
    .await;
    assert_error(&lifetime, 409, "membership_is_lifetime");
    let (_, user) = post(
        &app,
        &creds,
        "/api/admin/lifetime-access",
        json!({"user_id": id, "action": "revoke"}),
    )
    .await;
    assert_eq!(user["membership"]["is_lifetime"], false);

    let unknown = json!({"user_id": uuid::Uuid::now_v7(), "minutes": 5, "action": "add"});
    assert_error(
        &post(&app, &creds, "/api/admin/adjust-membership-time", unknown).await,
        404,
        "not_found",
    );
    let bad = post(
        &app,
        &creds,
        "/api/admin/adjust-membership-time",
        adjust(5, "double"),
    )
    .await;
    assert_error(&bad, 422, "validation_failed");
    assert_eq!(bad.1["field"], "action");
    let other = app.create_app(false).await;
    let foreign = post(
        &app,
        &other,
        "/api/admin/adjust-membership-time",
        adjust(5, "add"),
    )
    .await;
    assert_error(&foreign, 404, "not_found");
}

async fn a_device_beyond_the_limit_is_allowed_after_reset_devices_or_a_higher_user_limit(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let code = app.mint(&creds, 1, None).await.remove(0);
    assert_eq!(
        app.sign_up(
            &creds,
            json!({"username": "mover", "password": PASSWORD, "hardware_id": "old-pc"})
        )
        .await
        .0,
        200
    );
    let activation = json!({"code": code, "username": "mover", "password": PASSWORD});
    assert_eq!(
        send(
            app.integration(&creds, "/api/integration/activate_license")
                .json(&activation)
        )
        .await
        .0,
        200
    );
    let login = |device: &str| {
        send(
            app.integration(&creds, "/api/integration/auth/login")
                .json(&login_body("mover", device)),
        )
    };
    assert_error(
        &login("new-pc").await,
        401,
        "maximum_number_of_devices_reached",
    );

    let reset = json!({"credentials": {"username": "mover", "password": PASSWORD}});
    let (status, user) = post(&app, &creds, "/api/admin/reset-devices", reset).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["registered_devices"], json!([]));
    assert_eq!(login("new-pc").await.0, 200);
    assert_error(
        &login("third-pc").await,
        401,
        "maximum_number_of_devices_reached",
    );

    let wrong = json!({"credentials": {"username": "mover", "password": "not_the_password"}});
    assert_error(
        &post(&app, &creds, "/api/admin/reset-devices", wrong).await,
        401,
        "invalid_credentials",
    );

    let id = user_id(&app, &creds, "mover").await;
    let limits =
        json!({"allowed_number_of_devices": 2, "allowed_number_of_simultaneous_sessions": 2});
    let (status, _) = send(
        app.admin(
            &creds,
            Method::PUT,
            &format!("/api/admin/users/{id}/limits"),
        )
        .json(&limits),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        login("third-pc").await.0,
        200,
        "the user's own limit overrides the application's"
    );
    let (status, user) = post(
        &app,
        &creds,
        "/api/admin/reset-devices",
        json!({"user_id": id}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["registered_devices"], json!([]));
}

async fn users_are_listed_a_page_at_a_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    for name in ["first", "second", "third"] {
        assert_eq!(
            app.sign_up(&creds, json!({"username": name, "password": PASSWORD}))
                .await
                .0,
            200
        );
    }
    let (status, page) =
        send(app.admin(&creds, Method::GET, "/api/admin/users?page=2&per_page=2")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 2);
    let users = page["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"], "third");
    let bad = send(app.admin(&creds, Method::GET, "/api/admin/users?per_page=500")).await;
    assert_error(&bad, 422, "validation_failed");
    let garbage = send(app.admin(&creds, Method::GET, "/api/admin/users?page=abc")).await;
    assert_error(&garbage, 422, "validation_failed");
}

async fn variables_are_managed_and_shown_in_the_application_context(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let put = |name: &str, value: &str| {
        app.admin(&creds, Method::PUT, &format!("/api/admin/variables/{name}"))
            .json(&json!({"value": value}))
    };
    assert_eq!(send(put("motd", "hello")).await.0, 200);
    assert_eq!(
        send(put("motd", "hello again")).await.1["value"],
        "hello again"
    );
    assert_eq!(send(put("version", "2.0")).await.0, 200);
    let too_long = send(put("big", &"x".repeat(10_001))).await;
    assert_error(&too_long, 422, "validation_failed");
    assert_eq!(too_long.1["field"], "value");
    let long_name = send(put(&"n".repeat(65), "x")).await;
    assert_eq!(long_name.1["field"], "name");

    let code = app.mint(&creds, 1, None).await.remove(0);
    assert_eq!(
        app.license_sign_up(&creds, json!({"code": code})).await.0,
        200
    );
    let (_, session) = send(
        app.integration(&creds, "/api/integration/auth/login")
            .json(&json!({"credentials": {"code": code}})),
    )
    .await;
    let context = |token: String| {
        app.client
            .get(app.url("/api/integration/app_context"))
            .header("x-api-key", &creds.api_key)
            .header("x-api-secret", &creds.api_secret)
            .bearer_auth(token)
    };
    let token = session["session_token"].as_str().unwrap().to_owned();
    let (_, body) = send(context(token.clone())).await;
    assert_eq!(
        body["application"]["variables"],
        json!([
            {"name": "motd", "value": "hello again", "is_public": false},
            {"name": "version", "value": "2.0", "is_public": false}
        ])
    );

    let (status, _) = send(app.admin(&creds, Method::DELETE, "/api/admin/variables/motd")).await;
    assert_eq!(status, 204);
    assert_error(
        &send(app.admin(&creds, Method::DELETE, "/api/admin/variables/motd")).await,
        404,
        "not_found",
    );
    let (_, list) = send(app.admin(&creds, Method::GET, "/api/admin/variables")).await;
    assert_eq!(
        list["variables"],
        json!([{"name": "version", "value": "2.0", "is_public": false}])
    );
}
