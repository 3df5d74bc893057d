//! A `support` operator in the browser: no key or secret on any page it can open, no forms
//! for what its role may not do, and those actions refused when posted anyway.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::support::SUPPORT;
use domain::operator_account::OperatorRole;

/// Submits a form the page does not offer, built in the page with the page's CSRF token: the
/// browser posts it with this origin and the session cookie, as a tampered page would.
async fn post_from_page(browser: &Browser, action: &str, fields: &[(&str, &str)]) {
    let mut pairs = vec![serde_json::json!(["csrf", browser.csrf().await])];
    pairs.extend(
        fields
            .iter()
            .map(|(name, value)| serde_json::json!([name, value])),
    );
    browser
        .client
        .execute(
            "const form = document.createElement('form');\
             form.method = 'post'; form.action = arguments[0];\
             for (const [name, value] of arguments[1]) {\
               const input = document.createElement('input');\
               input.type = 'hidden'; input.name = name; input.value = value;\
               form.appendChild(input);\
             }\
             document.body.appendChild(form); form.submit();",
            vec![action.into(), serde_json::Value::Array(pairs)],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_operator_sees_no_key_and_is_refused_owner_actions() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(true).await;
    let browser = Browser::signed_in(&app, SUPPORT).await;
    let secrets = [
        credentials.api_secret.as_str(),
        credentials.admin_api_key.as_str(),
        "lk_sec_",
        "lk_adm_",
    ];

    let text = browser.main_text().await;
    assert!(text.contains("Test App"), "{text}");
    assert!(!text.contains("Create an application"), "{text}");
    let pages = [
        "/console".to_owned(),
        format!("/console/apps/{}", credentials.id),
        format!("/console/apps/{}/settings", credentials.id),
        "/console/account".to_owned(),
    ];
    for path in &pages {
        browser.open(&app, path).await;
        browser.wait_for(fantoccini::Locator::Css("main h1")).await;
        let html = browser.source().await;
        for secret in secrets {
            assert!(!html.contains(secret), "{path} shows {secret}");
        }
    }
    assert!(!browser.main_text().await.contains("Invite an operator"));
    browser.screenshot("account-support").await;

    // Settings: read-only, and no rotate form; a rotation posted anyway is refused.
    browser
        .open(&app, &format!("/console/apps/{}/settings", credentials.id))
        .await;
    browser.wait_for_heading("Settings").await;
    let text = browser.main_text().await;
    assert!(text.contains("You can read these settings"), "{text}");
    assert!(!text.contains("Rotate a key"), "{text}");
    assert!(
        browser
            .client
            .find_all(fantoccini::Locator::Css("form[action$='/settings/rotate']"))
            .await
            .unwrap()
            .is_empty()
    );
    browser.screenshot("settings-support").await;
    post_from_page(
        &browser,
        &format!("/console/apps/{}/settings/rotate", credentials.id),
        &[
            ("which", "api_secret"),
            ("old_valid_for", "0"),
            ("confirm", "yes"),
        ],
    )
    .await;
    browser.wait_for_heading("Refused").await;
    assert!(
        browser
            .main_text()
            .await
            .contains("Your role does not allow this")
    );

    // The create form is absent; posted anyway from the page (a form the browser submits
    // with this page's token and origin), the server refuses it for the role.
    browser.open(&app, "/console").await;
    browser.wait_for_heading("Applications").await;
    post_from_page(&browser, "/console/apps", &[("name", "Not Allowed")]).await;
    browser.wait_for_heading("Refused").await;
    assert!(
        browser
            .main_text()
            .await
            .contains("Your role does not allow this")
    );
    browser.open(&app, "/console").await;
    browser.wait_for_heading("Applications").await;
    assert!(!browser.main_text().await.contains("Not Allowed"));
    browser.close().await;
}
