//! What the browser tests share: opening a console page, filling and submitting its forms as
//! a person would (by label or name, then a click), and waiting for the next page, always
//! with a bound, never with a sleep.

use crate::driver::Browser;
use crate::helpers::TestApp;
use fantoccini::Locator;
use fantoccini::elements::Element;
use std::time::Duration;

/// The longest any page or element is waited for.
pub const WAIT: Duration = Duration::from_secs(15);

pub const OWNER: &str = "owner@example.com";
pub const SUPPORT: &str = "support@example.com";

/// An XPath string literal for `text` (which holds no double quote).
fn literal(text: &str) -> String {
    assert!(!text.contains('"'), "{text}");
    format!("\"{text}\"")
}

impl Browser {
    /// Opens `path` of `app`.
    pub async fn open(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
    }

    /// Waits (at most [`WAIT`]) for an element.
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(locator)
            .await
            .unwrap_or_else(|error| panic!("waited for {locator:?}: {error}"))
    }

    /// Waits for the page whose `<h1>` contains `heading`; the whole heading.
    pub async fn wait_for_heading(&self, heading: &str) -> String {
        let xpath = format!("//h1[contains(., {})]", literal(heading));
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&xpath))
            .await;
        match found {
            Ok(element) => element.text().await.unwrap(),
            Err(error) => {
                let url = self.client.current_url().await.unwrap();
                let h1 = self.heading().await;
                panic!("waited for a page headed {heading:?} ({error}); at {url}: {h1:?}")
            }
        }
    }

    /// The current page's `<h1>`.
    pub async fn heading(&self) -> String {
        match self.client.find(Locator::Css("h1")).await {
            Ok(h1) => h1.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits for an element of `css` whose text contains `text`; its whole text.
    pub async fn wait_for_text(&self, css_tag: &str, text: &str) -> String {
        let xpath = format!("//{css_tag}[contains(., {})]", literal(text));
        self.wait_for(Locator::XPath(&xpath))
            .await
            .text()
            .await
            .unwrap()
    }

    /// The visible text of the page's `<main>`.
    pub async fn main_text(&self) -> String {
        self.wait_for(Locator::Css("main"))
            .await
            .text()
            .await
            .unwrap()
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Types `value` into the field labelled `label` (a `<label for>` whose text contains
    /// it), replacing what was there.
    pub async fn fill(&self, label: &str, value: &str) {
        let xpath = format!("//label[contains(., {})]", literal(label));
        let label_element = self.wait_for(Locator::XPath(&xpath)).await;
        let id = label_element
            .attr("for")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the label {label:?} names no field"));
        let field = self.client.find(Locator::Id(&id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the button (or submit input) whose text is `label`.
    pub async fn press(&self, label: &str) {
        let xpath = format!(
            "//button[normalize-space(.)={0}] | //input[@type='submit' and @value={0}]",
            literal(label)
        );
        self.wait_for(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Clicks the link whose text contains `text`.
    pub async fn follow(&self, text: &str) {
        let xpath = format!("//a[contains(., {})]", literal(text));
        self.wait_for(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Opens the sign-in page, types the address and password, and presses "Sign in".
    pub async fn sign_in(&self, app: &TestApp, email: &str, password: &str) {
        self.open(app, "/console/login").await;
        self.wait_for_heading("Sign in").await;
        self.fill("E-mail address", email).await;
        self.fill("Password", password).await;
        self.press("Sign in").await;
    }

    /// Signs in with the console helpers' password and waits for the applications page.
    pub async fn signed_in(app: &TestApp, email: &str) -> Self {
        let browser = Self::start().await;
        browser
            .sign_in(app, email, crate::console_helpers::PASSWORD)
            .await;
        browser.wait_for_heading("Applications").await;
        browser
    }

    /// The value of the session cookie the browser holds, if any.
    pub async fn session_cookie(&self) -> Option<String> {
        self.client
            .get_named_cookie(crate::console_helpers::SESSION_COOKIE)
            .await
            .ok()
            .map(|cookie| cookie.value().to_owned())
    }

    /// The value of the first hidden `csrf` field on the page.
    pub async fn csrf(&self) -> String {
        self.wait_for(Locator::Css("input[name='csrf']"))
            .await
            .attr("value")
            .await
            .unwrap()
            .expect("a csrf value")
    }

    /// The path of the page the browser shows.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }
}
