//! `/api/operator` over HTTP.

use crate::helpers::{Backend, OPERATOR_TOKEN, TestApp, assert_error, send};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
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
        api_key: created["api_key"].as_str().unwrap().into(),
        api_secret: created["api_secret"].as_str().unwrap().into(),
        admin_api_key: created["admin_api_key"].as_str().unwrap().into(),
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
