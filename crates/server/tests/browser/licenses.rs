//! Minting licenses on the Licenses screen: the codes shown once, the CSV downloaded by the
//! browser holding exactly them, the list, its filters, and one license found by its code.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::support::{OWNER, WAIT};
use domain::operator_account::OperatorRole;
use fantoccini::Locator;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

impl Browser {
    /// Waits (at most [`WAIT`]) until the browser has finished a download into
    /// [`Browser::downloads`]; the file. Chromium writes `*.crdownload` until it is done.
    pub async fn wait_for_download(&self) -> PathBuf {
        let deadline = Instant::now() + WAIT;
        loop {
            let done: Vec<PathBuf> = std::fs::read_dir(self.downloads())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                // Chromium writes `.org.chromium.Chromium.*`, then `*.crdownload`, then
                // renames the finished file.
                .filter(|path| {
                    let name = path.file_name().unwrap().to_string_lossy();
                    !name.starts_with('.') && !name.ends_with(".crdownload")
                })
                .collect();
            if let [file] = done.as_slice() {
                return file.clone();
            }
            assert!(done.len() <= 1, "one download expected: {done:?}");
            assert!(Instant::now() < deadline, "no download within {WAIT:?}");
            // A file appearing has no event to wait on: poll the directory, bounded above.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The texts of the elements `css` finds.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap());
        }
        texts
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_codes_are_shown_once_downloaded_as_csv_and_one_is_found_by_its_code() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let browser = Browser::signed_in(&app, OWNER).await;
    browser
        .open(&app, &format!("/console/apps/{}/licenses", credentials.id))
        .await;
    browser.wait_for_heading("Licenses of").await;
    assert!(browser.main_text().await.contains("No license here yet."));

    browser.fill("How many", "3").await;
    browser.fill("Duration", "30d").await;
    browser.press("Mint").await;
    browser.wait_for_heading("license(s) minted").await;
    let codes = browser.texts("#minted-codes code.license-code").await;
    assert_eq!(codes.len(), 3, "{codes:?}");
    browser.screenshot("minted-codes").await;

    // The browser's own download of the CSV link holds exactly the minted codes.
    browser
        .wait_for(Locator::Id("csv-download"))
        .await
        .click()
        .await
        .unwrap();
    let file = browser.wait_for_download().await;
    assert!(file.extension().is_some_and(|ext| ext == "csv"), "{file:?}");
    let csv = std::fs::read_to_string(&file).unwrap();
    for code in &codes {
        assert_eq!(csv.matches(code.as_str()).count(), 1, "{code} in {csv}");
    }
    assert_eq!(
        csv.lines().filter(|line| !line.trim().is_empty()).count(),
        4,
        "a header and three codes: {csv}"
    );

    // Each code is a real, unused 30-day license.
    for code in &codes {
        let (status, license) = app.license(&credentials, code).await;
        assert_eq!(status, 200, "{license}");
        assert_eq!(license["is_used"], false);
        assert_eq!(license["minutes"], 30 * 24 * 60);
    }

    browser.follow("Back to the licenses").await;
    browser.wait_for_heading("Licenses of").await;
    assert_eq!(browser.texts("#licenses tbody tr").await.len(), 3);
    // Once left, the codes are on no page.
    let html = browser.source().await;
    for code in &codes {
        assert!(!html.contains(code.as_str()), "the list shows {code}");
    }
    browser.screenshot("licenses-after-mint").await;

    // One is redeemed; the Used filter shows it alone, with its user.
    let (status, body) = app
        .license_sign_up(&credentials, json!({"code": codes[0]}))
        .await;
    assert_eq!(status, 200, "{body}");
    browser
        .wait_for(Locator::Id("license-status"))
        .await
        .select_by_value("used")
        .await
        .unwrap();
    browser.press("Show").await;
    browser
        .wait_for(Locator::XPath("//a[normalize-space(.)='Show all']"))
        .await;
    let used = browser.texts("#licenses tbody tr").await;
    assert_eq!(used.len(), 1, "{used:?}");
    let (_, redeemed) = app.license(&credentials, &codes[0]).await;
    assert!(
        used[0].contains(redeemed["id"].as_str().unwrap()),
        "{used:?}"
    );
    browser.screenshot("licenses-used").await;

    // Finding a code: the one license whose code it is.
    browser.follow("Show all").await;
    browser.wait_for_heading("Licenses of").await;
    browser.fill("Find by code", &codes[1]).await;
    browser.press("Show").await;
    browser
        .wait_for(Locator::XPath("//a[normalize-space(.)='Show all']"))
        .await;
    let found = browser.texts("#licenses tbody tr").await;
    let (_, wanted) = app.license(&credentials, &codes[1]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains(wanted["id"].as_str().unwrap()),
        "{found:?} is not {wanted}"
    );
    assert!(found[0].contains("unused"), "{found:?}");
    browser.screenshot("license-found").await;
    browser.close().await;
}
