//! Banning a user on the Bans screen, after which the user's API sign-in is refused.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::support::OWNER;
use domain::operator_account::OperatorRole;
use fantoccini::Locator;
use serde_json::{Value, json};

const USER_PASSWORD: &str = "secure_password123";

impl Browser {
    /// Types `value` into the field `css` finds, replacing what was there: for a page with
    /// two fields of the same label (a filter and a form).
    pub async fn fill_css(&self, css: &str, value: &str) {
        let field = self.wait_for(Locator::Css(css)).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }
}

/// `POST /api/integration/auth/login` as the vendor's program sends it.
pub async fn api_login(
    app: &TestApp,
    credentials: &AppCredentials,
    username: &str,
) -> (u16, Value) {
    let body = json!({
        "credentials": {"username": username, "password": USER_PASSWORD},
        "hardware_id": null,
    });
    let (status, body) = send(
        app.integration(credentials, "/api/integration/auth/login")
            .json(&body),
    )
    .await;
    (status.as_u16(), body)
}

/// A password user with a month of membership.
pub async fn member(app: &TestApp, credentials: &AppCredentials, username: &str) {
    let (status, body) = app
        .sign_up(
            credentials,
            json!({"username": username, "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let code = app.mint(credentials, 1, Some(60 * 24 * 30)).await.remove(0);
    let (status, body) = send(
        app.integration(credentials, "/api/integration/activate_license")
            .json(&json!({"code": code, "username": username, "password": USER_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_banned_in_the_console_can_no_longer_sign_in_through_the_api() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    member(&app, &credentials, "mallory").await;
    let (status, body) = api_login(&app, &credentials, "mallory").await;
    assert_eq!(status, 200, "{body}");

    let browser = Browser::signed_in(&app, OWNER).await;
    browser
        .open(&app, &format!("/console/apps/{}/bans", credentials.id))
        .await;
    browser.wait_for_heading("Bans of").await;
    assert!(browser.main_text().await.contains("No ban in force."));
    browser
        .wait_for(Locator::Id("ban-type"))
        .await
        .select_by_value("user")
        .await
        .unwrap();
    // Two fields are labelled "Value" (the filter's and the form's): the form's by its id.
    browser.fill_css("#ban-value", "mallory").await;
    browser.fill("Reason (optional)", "chargeback").await;
    browser.press("Ban").await;
    // A user ban is kept by the user's id, which the flash and the list show.
    let (_, user) = app.user(&credentials, "mallory").await;
    let id = user["id"].as_str().unwrap();
    let flash = browser.wait_for_text("p", "Banned user").await;
    assert!(flash.contains(id), "{flash}");
    let table = browser
        .wait_for(Locator::Id("bans"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        table.contains(id) && table.contains("chargeback"),
        "{table}"
    );
    browser.screenshot("bans-after-ban").await;

    let (status, body) = api_login(&app, &credentials, "mallory").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "banned", "{body}");
    browser.close().await;
}
