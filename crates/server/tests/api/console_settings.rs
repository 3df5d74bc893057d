//! The console's settings screen over HTTP: owners change the settings (seen through the
//! admin API), bad input is refused with what to correct, request signing's first key and
//! rotated secrets are shown once with a copy button, and `support` reads only.

use crate::console_helpers::{Browser, create_operator};
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_owner_changes_the_settings_and_the_admin_api_sees_them,
    bad_settings_are_refused_with_what_to_correct_and_change_nothing,
    turning_request_signing_on_shows_its_private_key_once,
    a_rotated_api_secret_is_shown_once_with_a_copy_button_and_the_old_one_stops,
    a_support_operator_reads_the_settings_but_cannot_change_them_or_rotate_keys,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn api_settings(app: &TestApp, credentials: &AppCredentials) -> Value {
    let (status, body) = send(app.admin(credentials, Method::GET, "/api/admin/settings")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Every field of the form as the page shows it, changed by `overrides` (a `None` value
/// leaves a checkbox unchecked).
fn form<'a>(csrf: &'a str, overrides: &[(&'a str, Option<&'a str>)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, Option<&str>)> = vec![
        ("name", Some("Test App")),
        ("device_limit", Some("1")),
        ("session_limit", Some("1")),
        ("session_lifetime_seconds", Some("300")),
        ("max_user_variables", Some("100")),
        ("cross_banning", Some("yes")),
        ("response_signing", Some("yes")),
    ];
    for (name, value) in overrides {
        fields.retain(|(field, _)| field != name);
        fields.push((name, *value));
    }
    let mut out = vec![("csrf", csrf)];
    out.extend(
        fields
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name, value))),
    );
    out
}

async fn an_owner_changes_the_settings_and_the_admin_api_sees_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/settings", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="settings-device-limit""#));
    assert!(
        page.body.contains(&credentials.api_key),
        "the public key is shown"
    );
    let csrf = page.csrf();

    let unchanged = browser.post(&path, &form(&csrf, &[])).await;
    assert_eq!(
        unchanged.status,
        StatusCode::SEE_OTHER,
        "{}",
        unchanged.body
    );
    assert!(browser.get(&path).await.body.contains("Nothing changed"));

    let saved = browser
        .post(
            &path,
            &form(
                &csrf,
                &[
                    ("name", Some("Renamed")),
                    ("device_authentication", Some("yes")),
                    ("device_limit", Some("3")),
                    ("session_limit", Some("2")),
                    ("session_lifetime_seconds", Some("3600")),
                    ("max_user_variables", Some("7")),
                    ("cross_banning", None),
                    ("anonymous_access", Some("yes")),
                    ("legacy_auth", Some("yes")),
                ],
            ),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = browser.get(&path).await;
    assert!(shown.body.contains("Settings saved."));
    assert!(shown.body.contains(r#"value="Renamed""#));

    let settings = api_settings(&app, &credentials).await;
    assert_eq!(settings["device_authentication"], true, "{settings}");
    assert_eq!(settings["allowed_number_of_devices"], 3);
    assert_eq!(settings["allowed_number_of_simultaneous_sessions"], 2);
    assert_eq!(settings["session_lifetime_seconds"], 3600);
    assert_eq!(settings["max_user_variables"], 7);
    assert_eq!(settings["cross_banning"], false);
    assert_eq!(settings["anonymous_access"], true);
    assert_eq!(settings["legacy_auth"], true);
    assert_eq!(settings["response_signing"], true);

    let (_, audit) = send(app.admin(
        &credentials,
        Method::GET,
        "/api/admin/audit?action=application.settings_changed",
    ))
    .await;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "the unchanged form recorded nothing: {audit}"
    );
    assert_eq!(events[0]["actor"]["kind"], "operator");
    assert!(events[0]["actor"]["id"].is_string());
}

async fn bad_settings_are_refused_with_what_to_correct_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/settings", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    let before = api_settings(&app, &credentials).await;
    let cases = [
        (
            ("device_limit", "0"),
            "Devices per user must be a whole number from 1 to 10000.",
        ),
        (
            ("session_lifetime_seconds", "59"),
            "Session lifetime (seconds) must be a whole number from 60 to 31536000.",
        ),
        (
            ("max_user_variables", "lots"),
            "Variables per user must be a whole number from 1 to 1000.",
        ),
        (("name", "   "), "The name must be 1 to 100 characters"),
    ];
    for ((field, value), message) in cases {
        let answer = browser
            .post(&path, &form(&csrf, &[(field, Some(value))]))
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(answer.body.contains(message), "{field}: {}", answer.body);
    }
    let bad_rotation = browser
        .post(
            &format!("{path}/rotate"),
            &[
                ("csrf", &csrf),
                ("which", "everything"),
                ("old_valid_for", "0"),
            ],
        )
        .await;
    assert_eq!(bad_rotation.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_rotation.body.contains("Choose which key to rotate"));
    assert_eq!(api_settings(&app, &credentials).await, before);
}

async fn turning_request_signing_on_shows_its_private_key_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/settings", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    let answer = browser
        .post(&path, &form(&csrf, &[("request_signing", Some("yes"))]))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("Request signing private key"));
    let start = answer.body.find("readonly").unwrap();
    let key = answer.body[start..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(key.len() > 20, "{key}");
    let settings = api_settings(&app, &credentials).await;
    assert_eq!(settings["request_signing"], true);
    assert!(settings["request_signing_key_id"].is_string());
    let later = browser.get(&path).await;
    assert!(!later.body.contains(&key));
    assert!(
        later
            .body
            .contains(settings["request_signing_key_id"].as_str().unwrap())
    );
}

async fn a_rotated_api_secret_is_shown_once_with_a_copy_button_and_the_old_one_stops(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/settings", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    let rotate = format!("{path}/rotate");
    let fields = [
        ("csrf", csrf.as_str()),
        ("which", "api_secret"),
        ("old_valid_for", "0"),
    ];

    let question = browser.post(&rotate, &fields).await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("Rotate the API secret?"));
    assert!(question.body.contains("stops working at once"));

    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let answer = browser.post(&rotate, &confirmed).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains(r#"data-copy="new-secret""#));
    assert!(
        answer
            .body
            .contains(r#"<script src="/console/static/copy.js" defer></script>"#)
    );
    let start = answer.body.find(r#"id="new-secret""#).unwrap();
    let secret = answer.body[start..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(secret, credentials.api_secret);
    assert!(!secret.is_empty());

    let sign_up = |secret: &str| {
        app.client
            .post(app.url("/api/integration/sign_up"))
            .header("x-api-key", &credentials.api_key)
            .header("x-api-secret", secret)
            .json(&json!({"username": "newcomer", "password": "secure_password123"}))
    };
    assert_eq!(
        send(sign_up(&credentials.api_secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(sign_up(&secret)).await.0, StatusCode::OK);

    // Shown once: no page shows it again.
    for page in [
        path.clone(),
        format!("/console/apps/{}", credentials.id),
        "/console".to_owned(),
    ] {
        assert!(!browser.get(&page).await.body.contains(&secret), "{page}");
    }
    let script = browser.get("/console/static/copy.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.body.contains("data-copy"));
    assert!(
        script.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
}

async fn a_support_operator_reads_the_settings_but_cannot_change_them_or_rotate_keys(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/settings", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("settings-read-only"));
    assert!(page.body.contains("<fieldset disabled>"));
    assert!(!page.body.contains("Save settings"));
    assert!(!page.body.contains("/settings/rotate"));
    assert!(!page.body.contains(&credentials.api_secret));
    assert!(!page.body.contains(&credentials.admin_api_key));
    let csrf = page.csrf();
    let before = api_settings(&app, &credentials).await;

    let change = browser
        .post(&path, &form(&csrf, &[("device_limit", Some("9"))]))
        .await;
    assert_eq!(change.status, StatusCode::FORBIDDEN);
    let rotate = browser
        .post(
            &format!("{path}/rotate"),
            &[
                ("csrf", csrf.as_str()),
                ("which", "admin_api_key"),
                ("old_valid_for", "0"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(rotate.status, StatusCode::FORBIDDEN);
    assert!(!rotate.body.contains("lk_adm_"));
    assert_eq!(api_settings(&app, &credentials).await, before);
}
