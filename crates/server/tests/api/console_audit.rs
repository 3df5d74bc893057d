//! The console's audit log over HTTP: events newest first with actor, target, address and
//! summary; the filters (action, actor, target, since, until); cursor pages that keep the
//! filters; a bad filter says what to correct; no code or secret on the page.

use crate::console_helpers::{Browser, create_operator};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    the_audit_log_shows_events_newest_first_and_filters_them,
    the_audit_log_pages_by_cursor_and_keeps_its_filters,
    a_bad_audit_filter_says_what_to_correct,
);

const SUPPORT: &str = "support@example.com";

async fn the_audit_log_shows_events_newest_first_and_filters_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let codes = app.mint(&credentials, 1, Some(60)).await;
    let (status, body) = app
        .license_sign_up(&credentials, json!({"code": codes[0]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, user) = app.user(&credentials, &codes[0]).await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let (status, _) = app.ban(&credentials, "ip", "203.0.113.0/24").await;
    assert_eq!(status, StatusCode::CREATED);

    // Read-only: a support operator sees it.
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/audit", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let newest = page.body.find("<code>ban.created</code>").unwrap();
    let older = page.body.find("<code>user.created</code>").unwrap();
    let oldest = page.body.find("<code>license.created</code>").unwrap();
    assert!(newest < older && older < oldest, "newest first");
    assert!(page.body.contains("admin_key adm_"));
    assert!(page.body.contains(&format!("end_user {user_id}")));
    assert!(page.body.contains("127.0.0.1"));
    assert!(page.body.contains("203.0.113.0/24"), "the ban's summary");
    assert!(
        !page.body.contains(&codes[0]),
        "no license code on the page"
    );
    assert!(!page.body.contains(&credentials.admin_api_key));

    let by_action = browser.get(&format!("{path}?action=ban.created")).await;
    assert!(by_action.body.contains("<code>ban.created</code>"));
    assert!(!by_action.body.contains("<code>user.created</code>"));
    assert!(
        by_action
            .body
            .contains(r#"<option value="ban.created" selected>"#)
    );

    let by_actor = browser.get(&format!("{path}?actor=end_user")).await;
    assert!(!by_actor.body.contains("<code>ban.created</code>"));
    assert!(by_actor.body.contains(&format!("end_user {user_id}")));

    let by_target = browser.get(&format!("{path}?target={user_id}")).await;
    assert!(by_target.body.contains("<code>user.created</code>"));
    assert!(!by_target.body.contains("<code>ban.created</code>"));

    let future = browser.get(&format!("{path}?since=2999-01-01T00:00")).await;
    assert_eq!(future.status, StatusCode::OK);
    assert!(future.body.contains("No event matches this filter."));
    let past = browser
        .get(&format!("{path}?since=2000-01-01&until=2999-01-01T00:00"))
        .await;
    assert!(past.body.contains("<code>ban.created</code>"));
}

async fn the_audit_log_pages_by_cursor_and_keeps_its_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    for n in 0..52 {
        let (status, _) = app
            .ban(&credentials, "hardware_id", &format!("hw-{n:02}"))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    app.mint(&credentials, 3, None).await;
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/audit", credentials.id);
    let first = browser.get(&format!("{path}?action=ban.created")).await;
    assert_eq!(first.body.matches("<code>ban.created</code>").count(), 50);
    let start = first
        .body
        .find("rel=\"next\"")
        .map(|_| ())
        .and_then(|()| first.body.find(&format!("{path}?action=ban.created")));
    let href = &first.body[start.unwrap()..];
    let href = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(href.contains("after="));
    let second = browser.get(&href).await;
    assert_eq!(second.body.matches("<code>ban.created</code>").count(), 2);
    assert!(!second.body.contains("<code>license.created</code>"));
    assert!(!second.body.contains("rel=\"next\""));
}

async fn a_bad_audit_filter_says_what_to_correct(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/audit", credentials.id);
    for (query, message) in [
        ("action=user.exploded", "Choose the action from the list"),
        ("target=not-an-id", "The target is an id"),
        ("since=yesterday", "is not a time"),
        (
            "since=2026-12-06T10:00&until=2026-12-06T09:00",
            "must be before",
        ),
    ] {
        let answer = browser.get(&format!("{path}?{query}")).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(answer.body.contains(message), "{query}: {}", answer.body);
    }
}
