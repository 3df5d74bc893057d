//! Browser tests: the real server on a fresh database, driven by a real headless Chromium
//! ([`driver::Browser`]). Screenshots land in `target/console-shots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod driver;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use driver::Browser;
use helpers::{Backend, TestApp};

/// The harness itself: a page of the server loads in the browser and is photographed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_loads_a_page_of_the_server() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::start().await;
    browser.client.goto(&app.url("/livez")).await.unwrap();
    let body = browser
        .client
        .find(fantoccini::Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("ok"), "the page reads {body:?}");
    browser.screenshot("harness-livez").await;
    assert!(driver::shots_dir().join("harness-livez.png").exists());
    assert!(
        browser.downloads().is_dir(),
        "downloads land in the profile"
    );
    browser.close().await;
}
