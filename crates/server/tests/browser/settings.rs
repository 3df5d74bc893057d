//! The Settings screen: an owner rotates the API secret, sees the new one once (after a
//! confirmation), and the new secret works on the integration API.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::support::OWNER;
use domain::operator_account::OperatorRole;
use fantoccini::Locator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_rotates_the_api_secret_and_sees_the_new_one_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut credentials = app.create_app(false).await;
    let browser = Browser::signed_in(&app, OWNER).await;
    browser
        .open(&app, &format!("/console/apps/{}/settings", credentials.id))
        .await;
    browser.wait_for_heading("Settings").await;
    let html = browser.source().await;
    assert!(!html.contains(&credentials.api_secret));
    assert!(!html.contains(&credentials.admin_api_key));
    browser.screenshot("settings-owner").await;

    browser
        .wait_for(Locator::Id("rotate-which"))
        .await
        .select_by_value("api_secret")
        .await
        .unwrap();
    browser.press("Rotate…").await;
    browser.wait_for_heading("Rotate the API secret?").await;
    browser.press("Rotate the API secret").await;
    browser.wait_for_heading("is rotated").await;
    let secret = browser
        .wait_for(Locator::Id("new-secret"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("lk_sec_"), "{secret}");
    assert_ne!(secret, credentials.api_secret);
    browser.screenshot("rotated-key").await;

    credentials.api_secret = secret.clone();
    let (status, body) = app
        .sign_up(
            &credentials,
            json!({"username": "after_rotation", "password": "secure_password123"}),
        )
        .await;
    assert_eq!(status, 200, "the new secret works: {body}");

    // Shown once: back on the settings, it is nowhere.
    browser.follow("Back to the settings").await;
    browser.wait_for_heading("Settings").await;
    assert!(!browser.source().await.contains(&secret));

    browser.close().await;
}
