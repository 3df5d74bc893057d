//! A `support` operator in the browser: no key or secret on any page it can open, no forms
//! for what its role may not do, and those actions refused when posted anyway.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::support::SUPPORT;
use domain::operator_account::OperatorRole;

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

    // The create form is absent; posted anyway from the page (a form the browser submits
    // with this page's token and origin), the server refuses it for the role.
    browser.open(&app, "/console").await;
    browser.wait_for_heading("Applications").await;
    browser
        .client
        .execute(
            "const form = document.createElement('form');\
             form.method = 'post'; form.action = '/console/apps';\
             for (const [name, value] of [['csrf', arguments[0]], ['name', 'Not Allowed']]) {\
               const input = document.createElement('input');\
               input.type = 'hidden'; input.name = name; input.value = value;\
               form.appendChild(input);\
             }\
             document.body.appendChild(form); form.submit();",
            vec![browser.csrf().await.into()],
        )
        .await
        .unwrap();
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
