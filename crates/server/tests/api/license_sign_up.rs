//! `POST /api/integration/sign_up_with_license_code` over HTTP.

use crate::helpers::{Backend, TestApp, assert_error};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    a_license_sign_up_consumes_the_code_once_and_starts_the_membership,
    a_lifetime_license_grants_lifetime_access,
    unknown_used_and_foreign_codes_get_one_identical_answer,
    a_refused_license_sign_up_leaves_the_code_unused,
    codes_match_ignoring_case_dashes_and_spaces,
);

async fn a_license_sign_up_consumes_the_code_once_and_starts_the_membership(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let code = app.mint(&creds, 1, Some(43_200)).await.remove(0);
    let (status, user) = app
        .license_sign_up(
            &creds,
            json!({"code": code, "hardware_id": "device-hardware-id"}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["membership"]["is_active"], true);
    assert_eq!(user["membership"]["is_lifetime"], false);
    let until =
        chrono::DateTime::parse_from_rfc3339(user["membership"]["active_until"].as_str().unwrap())
            .unwrap();
    let days = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!(
        (719..=720).contains(&days),
        "30 days from now, got {days} hours"
    );
    assert!(user["username"].as_str().unwrap().starts_with("user-"));

    let (_, license) = app.license(&creds, &code).await;
    assert_eq!(license["is_used"], true);
    assert_eq!(license["activated_by_user_id"], user["id"]);
    assert_eq!(license["minutes"], 43_200);

    let (status, details) = app.user(&creds, &code).await;
    assert_eq!(status, 200, "a user is found by their license code");
    assert_eq!(details["id"], user["id"]);
    assert_eq!(details["credential_type"], "license_code");
    assert_eq!(
        details["registered_devices"][0]["hardware_id"],
        "device-hardware-id"
    );

    let again = app
        .license_sign_up(&creds, json!({"code": code, "hardware_id": "other"}))
        .await;
    assert_error(&again, 422, "invalid_license_code");
}

async fn a_lifetime_license_grants_lifetime_access(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let code = app.mint(&creds, 1, None).await.remove(0);
    let (status, user) = app.license_sign_up(&creds, json!({"code": code})).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["membership"]["is_active"], true);
    assert_eq!(user["membership"]["is_lifetime"], true);
}

async fn unknown_used_and_foreign_codes_get_one_identical_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ours, theirs) = (app.create_app(false).await, app.create_app(false).await);
    let used = app.mint(&ours, 1, Some(60)).await.remove(0);
    assert_eq!(
        app.license_sign_up(&ours, json!({"code": used})).await.0,
        200
    );
    let foreign = app.mint(&theirs, 1, Some(60)).await.remove(0);
    let unknown = app
        .license_sign_up(&ours, json!({"code": "NOT-A-REAL-CODE"}))
        .await;
    assert_error(&unknown, 422, "invalid_license_code");
    assert_eq!(
        app.license_sign_up(&ours, json!({"code": used})).await,
        unknown
    );
    assert_eq!(
        app.license_sign_up(&ours, json!({"code": foreign})).await,
        unknown
    );
    assert_eq!(
        app.license(&theirs, &foreign).await.1["is_used"],
        false,
        "the other app's code is untouched"
    );
}

async fn a_refused_license_sign_up_leaves_the_code_unused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);

    let missing = app.license_sign_up(&creds, json!({"code": code})).await;
    assert_error(&missing, 422, "validation_failed");
    assert_eq!(missing.1["field"], "hardware_id");

    assert_eq!(app.ban(&creds, "hardware_id", "banned-device").await.0, 201);
    let banned_device = app
        .license_sign_up(
            &creds,
            json!({"code": code, "hardware_id": "banned-device"}),
        )
        .await;
    assert_error(&banned_device, 403, "banned");

    // The refusal above cross-banned the license and the address: banning them again answers
    // those bans (200).
    let (status, ban) = app.ban(&creds, "license", &code).await;
    assert_eq!(status, 200, "{ban}");
    assert_eq!(ban["type"], "license");
    let banned_license = app
        .license_sign_up(&creds, json!({"code": code, "hardware_id": "clean"}))
        .await;
    assert_error(&banned_license, 403, "banned");
    assert_eq!(app.license(&creds, &code).await.1["is_banned"], true);
    let lifted = crate::helpers::send(app.admin(
        &creds,
        reqwest::Method::DELETE,
        &format!("/api/admin/bans/{}", ban["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(lifted.0, 204);

    assert_eq!(app.ban(&creds, "ip", "127.0.0.1").await.0, 200);
    let banned_ip = app
        .license_sign_up(&creds, json!({"code": code, "hardware_id": "clean"}))
        .await;
    assert_error(&banned_ip, 403, "banned");

    let (_, license) = app.license(&creds, &code).await;
    assert_eq!(
        license["is_used"], false,
        "no refused sign-up consumed the code"
    );
    assert_eq!(license["activated_by_user_id"], serde_json::Value::Null);
}

async fn codes_match_ignoring_case_dashes_and_spaces(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    let typed = format!("  {}  ", code.replace('-', " ").to_lowercase());
    let (status, body) = app.license_sign_up(&creds, json!({"code": typed})).await;
    assert_eq!(status, 200, "{body}");
    let too_long = app
        .license_sign_up(&creds, json!({"code": "A".repeat(65)}))
        .await;
    assert_error(&too_long, 422, "validation_failed");
    assert_eq!(too_long.1["field"], "code");
}
