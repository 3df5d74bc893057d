//! Every form of the bans, settings, variables and webhooks screens refuses a POST without
//! the session's token, or from another origin with it, and changes nothing.

use crate::console_helpers::{Browser, create_operator};
use crate::helpers::{Backend, TestApp, send};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(every_form_refuses_a_missing_token_or_a_foreign_origin_and_changes_nothing);

async fn every_form_refuses_a_missing_token_or_a_foreign_origin_and_changes_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, "owner@example.com", OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let (_, ban) = app.ban(&credentials, "ip", "192.0.2.1").await;
    let (status, _) = send(
        app.admin(&credentials, Method::PUT, "/api/admin/variables/motd")
            .json(&json!({"value": "hello"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, endpoint) = send(
        app.admin(&credentials, Method::POST, "/api/admin/webhooks")
            .json(&json!({"url": "https://shop.example.com/hooks", "event_types": ["*"]})),
    )
    .await;
    let snapshot = async || {
        let get = |path: &str| send(app.admin(&credentials, Method::GET, path));
        (
            get("/api/admin/bans").await.1,
            get("/api/admin/settings").await.1,
            get("/api/admin/variables").await.1,
            without_delivery_health(get("/api/admin/webhooks").await.1),
        )
    };
    let before = snapshot().await;

    let base = format!("/console/apps/{}", credentials.id);
    let endpoint = format!("{base}/webhooks/{}", endpoint["id"].as_str().unwrap());
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{base}/bans"),
            vec![("type", "ip"), ("value", "192.0.2.9")],
        ),
        (
            format!("{base}/bans/{}/lift", ban["id"].as_str().unwrap()),
            vec![("confirm", "yes")],
        ),
        (
            format!("{base}/settings"),
            vec![
                ("name", "Hijacked"),
                ("device_limit", "9"),
                ("session_limit", "9"),
                ("session_lifetime_seconds", "600"),
                ("max_user_variables", "9"),
            ],
        ),
        (
            format!("{base}/settings/rotate"),
            vec![
                ("which", "admin_api_key"),
                ("old_valid_for", "0"),
                ("confirm", "yes"),
            ],
        ),
        (
            format!("{base}/variables"),
            vec![("name", "motd"), ("value", "owned")],
        ),
        (
            format!("{base}/variables/delete"),
            vec![("name", "motd"), ("confirm", "yes")],
        ),
        (
            format!("{base}/webhooks"),
            vec![("url", "https://evil.example/x")],
        ),
        (format!("{endpoint}/enabled"), vec![("enabled", "no")]),
        (
            format!("{endpoint}/rotate"),
            vec![("old_valid_for", "0"), ("confirm", "yes")],
        ),
        (format!("{endpoint}/delete"), vec![("confirm", "yes")]),
    ];
    let mut browser = Browser::signed_in(&app, "owner@example.com").await;
    let csrf = browser.session_csrf().await;
    for (path, fields) in forms {
        let without = browser.post(&path, &fields).await;
        assert_eq!(
            without.status,
            StatusCode::FORBIDDEN,
            "{path} without a token"
        );
        let mut with_token = vec![("csrf", csrf.as_str())];
        with_token.extend(fields);
        let foreign = browser
            .post_from(&path, &with_token, Some("https://evil.example"))
            .await;
        assert_eq!(
            foreign.status,
            StatusCode::FORBIDDEN,
            "{path} from another origin"
        );
        assert!(!foreign.body.contains("lk_adm_") && !foreign.body.contains("whsec_"));
    }
    assert_eq!(snapshot().await, before, "nothing changed");
}

/// The endpoints as the forms could change them: the dispatcher's attempts at them (the
/// endpoint's own creation is one of its events, sent in the background to a target that
/// does not answer) move `failing_since` whatever the forms do.
fn without_delivery_health(mut webhooks: serde_json::Value) -> serde_json::Value {
    if let Some(endpoints) = webhooks["webhooks"].as_array_mut() {
        for endpoint in endpoints {
            if let Some(fields) = endpoint.as_object_mut() {
                fields.remove("failing_since");
            }
        }
    }
    webhooks
}
