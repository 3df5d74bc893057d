//! The console over HTTP: sign-in and its cookie, fixation, sign-out, rate limits, CSRF and
//! origin checks, roles, TOTP with backup codes, security headers, and no secret in a page
//! except the one shown once.

use crate::console_helpers::{
    Browser, PASSWORD, SESSION_COOKIE, create_operator, hidden, totp_code,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::StatusCode;

on_both_backends!(
    a_correct_password_signs_in_with_a_host_only_strict_cookie_and_a_wrong_one_does_not,
    every_sign_in_gets_a_new_session_id_and_a_planted_one_opens_nothing,
    signing_out_ends_the_session_on_the_server,
    a_post_without_the_token_or_from_another_origin_is_refused,
    failed_sign_ins_are_rate_limited_with_a_retry_time,
    a_support_operator_cannot_reach_owner_only_actions,
    totp_set_up_then_sign_in_needs_the_code_and_a_backup_code_works_once,
    new_credentials_are_shown_once_and_no_page_shows_them_again,
    every_console_page_carries_the_security_headers,
    the_console_is_absent_when_disabled,
    the_overview_counts_licenses_and_users_and_draws_thirty_days,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn a_correct_password_signs_in_with_a_host_only_strict_cookie_and_a_wrong_one_does_not(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::new(&app);

    let wrong = browser.sign_in(OWNER, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("e-mail address or password is wrong"));
    assert!(wrong.set_cookie(SESSION_COOKIE).is_none());
    let unknown = browser.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    let right = browser.sign_in("Owner@Example.com", PASSWORD).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), Some("/console"));
    let cookie = right.set_cookie(SESSION_COOKIE).expect("a session cookie");
    let attributes = cookie.to_ascii_lowercase();
    for wanted in ["httponly", "secure", "samesite=strict", "path=/"] {
        assert!(attributes.contains(wanted), "{cookie} lacks {wanted}");
    }
    assert!(!attributes.contains("domain="), "{cookie}");
    let home = browser.get("/console").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Applications"));
    assert!(home.body.contains(OWNER));
}

async fn every_sign_in_gets_a_new_session_id_and_a_planted_one_opens_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::new(&app);
    browser
        .cookies
        .insert(SESSION_COOKIE.to_owned(), "lk_con_planted".to_owned());
    assert_eq!(browser.get("/console").await.status, StatusCode::SEE_OTHER);
    browser.sign_in(OWNER, PASSWORD).await;
    let first = browser.session().unwrap();
    assert_ne!(first, "lk_con_planted");
    browser.sign_in(OWNER, PASSWORD).await;
    let second = browser.session().unwrap();
    assert_ne!(first, second);
    // Signing in again ended the session it replaced.
    let mut old = Browser::new(&app);
    old.cookies.insert(SESSION_COOKIE.to_owned(), first);
    assert_eq!(old.get("/console").await.location(), Some("/console/login"));
    assert_eq!(browser.get("/console").await.status, StatusCode::OK);
}

async fn signing_out_ends_the_session_on_the_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let kept = browser.session().unwrap();
    let csrf = browser.session_csrf().await;
    let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/console/login"));
    assert!(browser.session().is_none());
    let login = browser.get("/console/login").await;
    assert!(login.body.contains("You are signed out."));
    // The cookie, replayed, opens nothing: the session is gone on the server.
    let mut replay = Browser::new(&app);
    replay.cookies.insert(SESSION_COOKIE.to_owned(), kept);
    let answer = replay.get("/console").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), Some("/console/login"));
}

async fn a_post_without_the_token_or_from_another_origin_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let csrf = browser.session_csrf().await;

    let no_token = browser.post("/console/apps", &[("name", "Sneaky")]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(no_token.body.contains("reload the page"));
    let wrong_token = browser
        .post("/console/apps", &[("csrf", "0000"), ("name", "Sneaky")])
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
    let foreign = browser
        .post_from(
            "/console/apps",
            &[("csrf", &csrf), ("name", "Sneaky")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(foreign.body.contains("another site"));
    let no_origin = browser
        .post_from(
            "/console/apps",
            &[("csrf", &csrf), ("name", "Sneaky")],
            None,
        )
        .await;
    assert_eq!(no_origin.status, StatusCode::FORBIDDEN);
    // Nothing was created by any of them.
    assert!(!browser.get("/console").await.body.contains("Sneaky"));

    // The sign-in form too: its pre-session token, and the origin.
    let mut stranger = Browser::new(&app);
    let form = stranger.get("/console/login").await;
    let token = form.csrf();
    let forged = stranger
        .post_from(
            "/console/login",
            &[("csrf", &token), ("email", OWNER), ("password", PASSWORD)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    stranger.cookies.clear();
    let without_cookie = stranger
        .post(
            "/console/login",
            &[("csrf", &token), ("email", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(without_cookie.status, StatusCode::FORBIDDEN);
}

async fn failed_sign_ins_are_rate_limited_with_a_retry_time(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.limits.enabled = true;
        settings.limits.failed_attempts_per_minute = 3;
    })
    .await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::new(&app);
    for _ in 0..3 {
        let answer = browser.sign_in(OWNER, "wrong password").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password now waits: the limit is checked before the password.
    let limited = browser.sign_in(OWNER, PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    assert!(limited.body.contains("Try again in"));
}

async fn a_support_operator_cannot_reach_owner_only_actions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let home = browser.get("/console").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.body.contains("Create an application"));
    let csrf = home.csrf();
    let create = browser
        .post("/console/apps", &[("csrf", &csrf), ("name", "Nope")])
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    let account = browser.get("/console/account").await;
    assert!(!account.body.contains("Invite an operator"));
    let invite = browser
        .post(
            "/console/account/invite",
            &[
                ("csrf", &csrf),
                ("email", "x@example.com"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(invite.status, StatusCode::FORBIDDEN);
}

async fn totp_set_up_then_sign_in_needs_the_code_and_a_backup_code_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let csrf = browser.session_csrf().await;
    let setup = browser
        .post("/console/account/totp/start", &[("csrf", &csrf)])
        .await;
    assert_eq!(setup.status, StatusCode::OK);
    let sealed = hidden(&setup.body, "setup").unwrap();
    let marker = "<dt>Key</dt><dd><code>";
    let start = setup.body.find(marker).unwrap() + marker.len();
    let secret = setup.body[start..start + 32].to_owned();
    assert!(setup.body.contains("otpauth://totp/"));

    let wrong = browser
        .post(
            "/console/account/totp/confirm",
            &[("csrf", &csrf), ("setup", &sealed), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let confirmed = browser
        .post(
            "/console/account/totp/confirm",
            &[
                ("csrf", &csrf),
                ("setup", &sealed),
                ("code", &totp_code(&secret, 0)),
            ],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes: Vec<String> = confirmed
        .body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..19].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    // Once set up, the secret is on no page.
    let account = browser.get("/console/account").await;
    assert!(account.body.contains("authenticator app is set up"));
    assert!(!account.body.contains(&secret));

    // A password alone now opens only the code form.
    let mut second = Browser::new(&app);
    let step = second.sign_in(OWNER, PASSWORD).await;
    assert_eq!(step.location(), Some("/console/login/code"));
    assert_eq!(
        second.get("/console").await.location(),
        Some("/console/login")
    );
    let form = second.get("/console/login/code").await;
    let code_csrf = form.csrf();
    let pending = second.session().unwrap();
    // The confirming code's step is spent; the next step's code is within the skew.
    let ok = second
        .post(
            "/console/login/code",
            &[("csrf", &code_csrf), ("code", &totp_code(&secret, 1))],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), Some("/console"));
    assert_ne!(second.session().unwrap(), pending);
    assert_eq!(second.get("/console").await.status, StatusCode::OK);

    // A backup code signs in once.
    for (attempt, expected) in [(0, StatusCode::SEE_OTHER), (1, StatusCode::UNAUTHORIZED)] {
        let mut third = Browser::new(&app);
        third.sign_in(OWNER, PASSWORD).await;
        let csrf = third.get("/console/login/code").await.csrf();
        let answer = third
            .post(
                "/console/login/code",
                &[("csrf", &csrf), ("code", &codes[0].to_lowercase())],
            )
            .await;
        assert_eq!(
            answer.status, expected,
            "attempt {attempt}: {}",
            answer.body
        );
    }
}

async fn new_credentials_are_shown_once_and_no_page_shows_them_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let csrf = browser.session_csrf().await;
    let created = browser
        .post(
            "/console/apps",
            &[
                ("csrf", &csrf),
                ("name", "Shown Once"),
                ("device_authentication", "yes"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let grab = |prefix: &str| {
        let start = created.body.find(prefix).unwrap();
        created.body[start..].split('<').next().unwrap().to_owned()
    };
    let (secret, admin_key) = (grab("lk_sec_"), grab("lk_adm_"));
    let marker = "/console/apps/";
    let start = created.body.find(marker).unwrap() + marker.len();
    let id = created.body[start..start + 36].to_owned();
    for path in [
        "/console".to_owned(),
        format!("/console/apps/{id}"),
        "/console/account".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("Shown Once"), "{path}");
        assert!(!page.body.contains(&secret), "{path} shows the API secret");
        assert!(
            !page.body.contains(&admin_key),
            "{path} shows the admin key"
        );
        assert!(!page.body.contains("lk_sec_"), "{path}");
        assert!(!page.body.contains("lk_adm_"), "{path}");
    }
}

async fn every_console_page_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    for path in [
        "/console",
        "/console/account",
        "/console/login",
        "/console/apps/nope",
    ] {
        let page = browser.get(path).await;
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            header("content-security-policy"),
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        assert!(!page.body.contains("<script"), "{path}");
    }
    assert_eq!(
        browser.get("/console/apps/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_console_is_absent_when_disabled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| settings.console.enabled = false).await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/console/login").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_overview_counts_licenses_and_users_and_draws_thirty_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let codes = app.mint(&credentials, 3, Some(60)).await;
    let (status, body) = app
        .license_sign_up(&credentials, serde_json::json!({"code": codes[0]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let page = browser
        .get(&format!("/console/apps/{}", credentials.id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let count = |label: &str| {
        let marker = format!("<dt>{label}</dt><dd>");
        let start = page.body.find(&marker).unwrap() + marker.len();
        page.body[start..].split('<').next().unwrap().to_owned()
    };
    assert_eq!(count("Users"), "1");
    assert_eq!(count("Active memberships"), "1");
    assert_eq!(count("Licenses used"), "1");
    assert_eq!(count("Licenses unused"), "2");
    assert_eq!(count("Bans"), "0");
    assert!(page.body.contains("<svg"));
    assert_eq!(page.body.matches("<rect").count(), 60);
    assert!(page.body.contains(": 1 sign ups"));
    assert!(page.body.contains(": 1 redemptions"));
    // The numbers are also a table; no unused code is on the page.
    for code in &codes[1..] {
        assert!(!page.body.contains(code.as_str()));
    }
}
