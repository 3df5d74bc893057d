//! Signing in through the browser: a wrong password's error, the session cookie as the
//! browser stores it, a new id at every sign-in (a planted one replaced), sign-out, failed
//! sign-ins limited, and the TOTP set-up followed by a sign-in that asks for the code.

use crate::console_helpers::{PASSWORD, SESSION_COOKIE, create_operator, totp_code};
use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::support::OWNER;
use domain::operator_account::OperatorRole;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_shown_and_the_right_one_opens_the_console_in_a_strict_cookie() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let browser = Browser::start().await;

    browser.open(&app, "/console").await;
    // Not signed in: the console sends the browser to the sign-in form.
    browser.wait_for_heading("Sign in").await;
    assert_eq!(browser.path().await, "/console/login");
    browser.screenshot("login").await;

    browser.sign_in(&app, OWNER, "not the password").await;
    let error = browser.wait_for_text("p", "wrong").await;
    assert!(
        error.contains("e-mail address or password is wrong"),
        "{error}"
    );
    assert_eq!(browser.session_cookie().await, None);
    browser.screenshot("login-wrong-password").await;

    browser.sign_in(&app, OWNER, PASSWORD).await;
    browser.wait_for_heading("Applications").await;
    assert!(browser.main_text().await.contains("No application yet"));
    let cookie = browser
        .client
        .get_named_cookie(SESSION_COOKIE)
        .await
        .expect("a session cookie");
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert_eq!(cookie.secure(), Some(true), "{cookie:?}");
    // (`cookie::SameSite` is not re-exported by fantoccini: compare its name.)
    assert_eq!(
        format!("{:?}", cookie.same_site()),
        "Some(Strict)",
        "{cookie:?}"
    );
    assert_eq!(cookie.path(), Some("/"), "{cookie:?}");
    // HttpOnly as the browser enforces it: the page's scripts cannot read the session.
    let visible = browser
        .client
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert!(
        !visible
            .as_str()
            .unwrap_or_default()
            .contains(SESSION_COOKIE),
        "{visible}"
    );
    let first = cookie.value().to_owned();

    // Sign-out ends the session on the server, not only in this browser.
    browser.press("Sign out").await;
    browser.wait_for_heading("Sign in").await;
    assert!(browser.main_text().await.contains("You are signed out."));
    assert_eq!(browser.session_cookie().await, None);
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/console"))
        .header("cookie", format!("{SESSION_COOKIE}={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(replayed.headers()["location"], "/console/login");

    // Signing in again gives a new session id.
    browser.sign_in(&app, OWNER, PASSWORD).await;
    browser.wait_for_heading("Applications").await;
    let second = browser.session_cookie().await.expect("a new session");
    assert_ne!(first, second);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_is_set_up_from_the_page_and_the_next_sign_in_asks_for_the_code() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let browser = Browser::signed_in(&app, OWNER).await;

    browser.follow("Account").await;
    browser.wait_for_heading("Your account").await;
    browser.screenshot("account").await;
    browser.press("Set up an authenticator app").await;
    browser
        .wait_for_heading("Set up an authenticator app")
        .await;
    let secret = browser
        .wait_for(Locator::Css("dl.secrets dd code"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(secret.len(), 32, "a base32 key of 160 bits: {secret}");
    assert!(browser.main_text().await.contains("otpauth://totp/"));
    browser.screenshot("account-totp").await;

    // A wrong code is refused with a message; the right one finishes the set-up.
    browser.fill("The 6-digit code", "000000").await;
    browser.press("Confirm").await;
    browser.wait_for(Locator::Css("p.error")).await;
    assert_eq!(browser.heading().await, "Set up an authenticator app");
    browser
        .fill("The 6-digit code", &totp_code(&secret, 0))
        .await;
    browser.press("Confirm").await;
    browser.wait_for_heading("Your backup codes").await;
    let codes = browser
        .client
        .find_all(Locator::Css("ul.codes code"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    browser.screenshot("backup-codes").await;
    browser.follow("Done").await;
    browser.wait_for_heading("Your account").await;
    assert!(
        browser
            .main_text()
            .await
            .contains("An authenticator app is set up")
    );
    assert!(!browser.source().await.contains(&secret));

    // The password alone now leads to the code step, on a pending session that opens
    // nothing else.
    browser.press("Sign out").await;
    browser.wait_for_heading("Sign in").await;
    browser.sign_in(&app, OWNER, PASSWORD).await;
    browser.wait_for_heading("Second factor").await;
    assert_eq!(browser.path().await, "/console/login/code");
    browser.screenshot("code-step").await;
    let pending = browser.session_cookie().await.expect("a pending session");

    browser
        .fill("The 6-digit code from your authenticator app", "000000")
        .await;
    browser.press("Continue").await;
    browser.wait_for(Locator::Css("p.error")).await;
    assert_eq!(browser.heading().await, "Second factor");
    // The confirming code's step is spent; the next step's code is within the skew.
    browser
        .fill(
            "The 6-digit code from your authenticator app",
            &totp_code(&secret, 1),
        )
        .await;
    browser.press("Continue").await;
    browser.wait_for_heading("Applications").await;
    let full = browser.session_cookie().await.expect("a full session");
    assert_ne!(pending, full, "the code step ends in a new session id");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_session_cookie_is_replaced_at_sign_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let browser = Browser::start().await;
    browser.open(&app, "/console/login").await;
    browser.wait_for_heading("Sign in").await;
    // What an attacker who can set a cookie for the site would plant (a script on the page
    // here; WebDriver's add-cookie always sends a domain, which a `__Host-` cookie may not
    // have).
    browser
        .client
        .execute(
            "document.cookie = arguments[0] + '=lk_con_planted; Path=/; Secure; SameSite=Strict'",
            vec![SESSION_COOKIE.into()],
        )
        .await
        .unwrap();
    assert_eq!(
        browser.session_cookie().await.as_deref(),
        Some("lk_con_planted")
    );
    browser.open(&app, "/console").await;
    browser.wait_for_heading("Sign in").await;

    browser.sign_in(&app, OWNER, PASSWORD).await;
    browser.wait_for_heading("Applications").await;
    let session = browser.session_cookie().await.expect("a session");
    assert_ne!(session, "lk_con_planted");
    assert!(session.starts_with("lk_con_"), "{session}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited_and_the_page_says_when_to_retry() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.limits.enabled = true;
        settings.limits.failed_attempts_per_minute = 3;
    })
    .await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let browser = Browser::start().await;
    for _ in 0..3 {
        browser.sign_in(&app, OWNER, "not the password").await;
        browser.wait_for_text("p", "wrong").await;
    }
    // Even the right password now waits: the limit is checked first.
    browser.sign_in(&app, OWNER, PASSWORD).await;
    browser.wait_for_heading("Too many attempts").await;
    let text = browser.main_text().await;
    assert!(text.contains("Try again in"), "{text}");
    assert_eq!(browser.session_cookie().await, None);
    browser.screenshot("login-rate-limited").await;
    browser.close().await;
}
