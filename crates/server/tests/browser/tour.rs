//! Every screen of an application, on PostgreSQL: an owner creates the application in the
//! browser, sign-ups and redemptions fill it, and each link of the application's navigation
//! is followed and photographed (so a screen that lands is photographed without a change
//! here). No page may fail, and none may show the application's secret or admin key.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{AppCredentials, Backend, TestApp};
use crate::support::OWNER;
use domain::operator_account::OperatorRole;
use fantoccini::Locator;
use serde_json::json;

/// A file name for a navigation link's text: `Audit log` → `audit-log`.
fn shot_name(label: &str) -> String {
    label
        .trim()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_of_an_application_opens_and_is_photographed() {
    let app = TestApp::spawn(Backend::Postgres).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let browser = Browser::signed_in(&app, OWNER).await;
    browser.screenshot("applications-empty").await;
    assert!(
        browser.downloads().is_dir(),
        "downloads land in the profile"
    );

    browser.fill("Name", "Acme Editor").await;
    browser.press("Create").await;
    browser.wait_for_heading("Acme Editor is created").await;
    let field = |label: &str| {
        let xpath = format!("//dt[.='{label}']/following-sibling::dd[1]");
        let browser = &browser;
        async move {
            browser
                .wait_for(Locator::XPath(&xpath))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    let credentials = AppCredentials {
        id: field("Application id").await,
        api_key: field("API key").await,
        api_secret: field("API secret").await,
        admin_api_key: field("Admin API key").await,
        response_signing_public_key: String::new(),
        response_signing_key_id: String::new(),
    };
    assert!(credentials.api_secret.starts_with("lk_sec_"));
    assert!(credentials.admin_api_key.starts_with("lk_adm_"));
    browser.screenshot("application-created").await;

    // Some life: licenses, license sign-ups, password sign-ups.
    let codes = app.mint(&credentials, 12, Some(60 * 24 * 30)).await;
    for (n, code) in codes.iter().take(5).enumerate() {
        let (status, body) = app
            .license_sign_up(
                &credentials,
                json!({"code": code, "hardware_id": format!("device-{n}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for name in ["alice", "bob", "carol"] {
        let (status, body) = app
            .sign_up(
                &credentials,
                json!({"username": name, "password": "secure_password123", "hardware_id": format!("hw-{name}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    browser.open(&app, "/console").await;
    browser.wait_for_heading("Applications").await;
    assert!(browser.main_text().await.contains("Acme Editor"));
    browser.screenshot("applications").await;
    browser.follow("Acme Editor").await;
    browser.wait_for_heading("Acme Editor").await;
    assert_eq!(field("Users").await, "8");
    assert_eq!(field("Licenses used").await, "5");
    assert_eq!(field("Licenses unused").await, "7");
    browser.screenshot("overview").await;

    let links = browser
        .client
        .find_all(Locator::Css("nav.app-nav a"))
        .await
        .unwrap();
    let mut screens = Vec::new();
    for link in links {
        let label = link.text().await.unwrap();
        let href = link.attr("href").await.unwrap().unwrap();
        screens.push((label, href));
    }
    assert!(!screens.is_empty());
    for (label, href) in &screens {
        browser.open(&app, href).await;
        let heading = browser
            .wait_for(Locator::Css("main h1"))
            .await
            .text()
            .await
            .unwrap();
        for failure in ["Not found", "Something went wrong", "Refused", "Sign in"] {
            assert!(!heading.contains(failure), "{label} ({href}): {heading}");
        }
        let html = browser.source().await;
        assert!(
            !html.contains(&credentials.api_secret),
            "{label} shows the secret"
        );
        assert!(
            !html.contains(&credentials.admin_api_key),
            "{label} shows the admin key"
        );
        browser.screenshot(&shot_name(label)).await;
    }
    browser.close().await;
}
