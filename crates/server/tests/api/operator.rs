//! `/api/operator` over HTTP.

use crate::helpers::{Backend, OPERATOR_TOKEN, TestApp, assert_error, send};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    a_rotated_secret_overlaps_with_the_old_one_until_it_expires,
    applications_are_created_listed_and_changed,
    the_operator_api_needs_its_token_and_is_absent_without_one,
);

async fn applications_are_created_listed_and_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, created) = send(
        app.client
            .post(app.url("/api/operator/applications"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"name": "My App"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["device_authentication"], true, "on by default");
    assert!(
        created["api_secret"]
            .as_str()
            .unwrap()
            .starts_with("lk_sec_")
    );
    assert!(
        created["admin_api_key"]
            .as_str()
            .unwrap()
            .starts_with("lk_adm_")
    );

    let (status, list) = send(
        app.client
            .get(app.url("/api/operator/applications"))
            .bearer_auth(OPERATOR_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let listed = &list["applications"][0];
    assert_eq!(listed["id"], created["id"]);
    assert!(
        listed.get("api_secret").is_none() && listed.get("admin_api_key").is_none(),
        "no secrets: {listed}"
    );

    let path = format!(
        "/api/operator/applications/{}",
        created["id"].as_str().unwrap()
    );
    let (status, changed) = send(
        app.client
            .patch(app.url(&path))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"device_authentication": false, "name": "Renamed"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Renamed");
    assert_eq!(changed["device_authentication"], false);

    let creds = crate::helpers::AppCredentials {
        id: created["id"].as_str().unwrap().into(),
        api_key: created["api_key"].as_str().unwrap().into(),
        api_secret: created["api_secret"].as_str().unwrap().into(),
        admin_api_key: created["admin_api_key"].as_str().unwrap().into(),
        response_signing_public_key: created["response_signing_public_key"]
            .as_str()
            .unwrap()
            .into(),
        response_signing_key_id: created["response_signing_key_id"].as_str().unwrap().into(),
    };
    let body = json!({"username": "no_device_needed", "password": "secure_password123"});
    assert_eq!(
        app.sign_up(&creds, body).await.0,
        200,
        "device authentication is off now"
    );

    let unknown = format!("/api/operator/applications/{}", uuid::Uuid::now_v7());
    assert_error(
        &send(
            app.client
                .patch(app.url(&unknown))
                .bearer_auth(OPERATOR_TOKEN)
                .json(&json!({})),
        )
        .await,
        404,
        "not_found",
    );
    let bad_name = send(
        app.client
            .patch(app.url(&path))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"name": " "})),
    )
    .await;
    assert_error(&bad_name, 422, "validation_failed");
    assert_eq!(bad_name.1["field"], "name");
}

async fn the_operator_api_needs_its_token_and_is_absent_without_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app.url("/api/operator/applications");
    assert_error(
        &send(app.client.get(&url)).await,
        401,
        "invalid_operator_token",
    );
    assert_error(
        &send(app.client.get(&url).bearer_auth("wrong")).await,
        401,
        "invalid_operator_token",
    );

    let closed = TestApp::spawn_with(backend, |settings| settings.operator.token = None).await;
    let answer = send(
        closed
            .client
            .get(closed.url("/api/operator/applications"))
            .bearer_auth(OPERATOR_TOKEN),
    )
    .await;
    assert_error(&answer, 404, "not_found");
}

async fn a_rotated_secret_overlaps_with_the_old_one_until_it_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = app.create_app(false).await;
    let rotate = |body: serde_json::Value| {
        app.client
            .post(app.url(&format!("/api/operator/applications/{}/rotate", old.id)))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&body)
    };
    let (status, rotated) = send(rotate(
        json!({"which": "api_secret", "old_valid_for_seconds": 86_400}),
    ))
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert!(rotated["value"].as_str().unwrap().starts_with("lk_sec_"));
    assert!(rotated["old_valid_until"].is_string());
    let new = crate::helpers::AppCredentials {
        api_secret: rotated["value"].as_str().unwrap().into(),
        ..old.clone()
    };
    let body = |name: &str| json!({"username": name, "password": "secure_password123"});
    assert_eq!(
        app.sign_up(&old, body("with_old")).await.0,
        200,
        "the old secret works during the overlap"
    );
    assert_eq!(
        app.sign_up(&new, body("with_new")).await.0,
        200,
        "the new one works at once"
    );

    // Used just before, so this instance has the application cached: the rotation must
    // evict it for "0" to mean at once.
    assert_eq!(app.user(&old, "with_old").await.0, 200);
    let (status, rotated) = send(rotate(
        json!({"which": "admin_api_key", "old_valid_for_seconds": 0}),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(rotated["old_valid_until"], serde_json::Value::Null);
    assert_error(&app.user(&old, "with_old").await, 401, "invalid_admin_key");
    let new_admin = crate::helpers::AppCredentials {
        admin_api_key: rotated["value"].as_str().unwrap().into(),
        ..old.clone()
    };
    assert_eq!(app.user(&new_admin, "with_old").await.0, 200);

    let bad = send(rotate(json!({"which": "password"}))).await;
    assert_error(&bad, 422, "validation_failed");
    let unknown = app
        .client
        .post(app.url(&format!(
            "/api/operator/applications/{}/rotate",
            uuid::Uuid::now_v7()
        )))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"which": "api_secret"}));
    assert_error(&send(unknown).await, 404, "not_found");
}
