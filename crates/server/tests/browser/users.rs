//! The Users screen: a user found by name, their time adjusted by `3d 4h` with the new
//! `active_until` on the page and through the admin API, and the user banned from their page,
//! after which their API sign-in is refused.

use crate::bans::{api_login, member};
use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{AppCredentials, Backend, TestApp};
use crate::support::OWNER;
use chrono::{DateTime, Duration, Utc};
use domain::operator_account::OperatorRole;
use fantoccini::Locator;

/// The user's `active_until` through the admin API.
async fn active_until(app: &TestApp, credentials: &AppCredentials, name: &str) -> DateTime<Utc> {
    let (status, user) = app.user(credentials, name).await;
    assert_eq!(status, 200, "{user}");
    DateTime::parse_from_rfc3339(user["membership"]["active_until"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Searches the Users screen for `name` and opens the user's page.
async fn open_user(browser: &Browser, app: &TestApp, credentials: &AppCredentials, name: &str) {
    browser
        .open(app, &format!("/console/apps/{}/users", credentials.id))
        .await;
    browser.wait_for_heading("Users of").await;
    browser.fill("Find users by name", name).await;
    browser.press("Search").await;
    browser
        .wait_for_text("p", &format!("Users whose name starts with “{name}”"))
        .await;
    browser.follow(name).await;
    browser.wait_for_heading(name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjusting_a_users_time_by_3d_4h_moves_active_until_by_exactly_that() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    for name in ["alice", "albert", "bob"] {
        member(&app, &credentials, name).await;
    }
    let before = active_until(&app, &credentials, "alice").await;
    let browser = Browser::signed_in(&app, OWNER).await;

    browser
        .open(&app, &format!("/console/apps/{}/users", credentials.id))
        .await;
    browser.wait_for_heading("Users of").await;
    assert_eq!(browser.texts("#users tbody tr").await.len(), 3);
    browser.screenshot("users-list").await;
    // The search is by the start of the name.
    browser.fill("Find users by name", "al").await;
    browser.press("Search").await;
    browser
        .wait_for_text("p", "Users whose name starts with")
        .await;
    let found = browser.texts("#users tbody tr td a").await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|name| name.starts_with("al")), "{found:?}");

    open_user(&browser, &app, &credentials, "alice").await;
    let shown = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let page_until = || async {
        browser
            .wait_for(Locator::Id("active-until"))
            .await
            .text()
            .await
            .unwrap()
    };
    assert_eq!(page_until().await, shown(before));
    browser.screenshot("user").await;

    browser.fill("Duration: 3d 4h 30m", "3d 4h").await;
    browser
        .fill("Reason (optional, kept in the ledger)", "goodwill")
        .await;
    browser.press("Adjust").await;
    browser.wait_for(Locator::Css("p.flash")).await;
    let after = active_until(&app, &credentials, "alice").await;
    assert_eq!(after - before, Duration::days(3) + Duration::hours(4));
    assert_eq!(page_until().await, shown(after));
    let ledger = browser
        .wait_for(Locator::Id("ledger"))
        .await
        .text()
        .await
        .unwrap();
    assert!(ledger.contains("goodwill"), "{ledger}");
    browser.screenshot("user-adjusted").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_banned_from_their_page_can_no_longer_sign_in_through_the_api() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    member(&app, &credentials, "mallory").await;
    let (status, body) = api_login(&app, &credentials, "mallory").await;
    assert_eq!(status, 200, "{body}");

    let browser = Browser::signed_in(&app, OWNER).await;
    open_user(&browser, &app, &credentials, "mallory").await;
    browser.fill("Reason (optional)", "chargeback").await;
    browser.press("Ban this user…").await;
    // A destructive action asks first.
    let question = browser.wait_for_heading("Ban").await;
    assert!(question.contains("mallory"), "{question}");
    browser.screenshot("confirm-ban").await;
    browser
        .wait_for(Locator::Css("main form button.danger"))
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for(Locator::Css("p.flash")).await;

    let (status, body) = api_login(&app, &credentials, "mallory").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "banned", "{body}");
    browser.close().await;
}
