//! The console's user screens over HTTP: the name search, a user's page and its actions
//! (time by a typed duration, lifetime, devices, limits, variables, ban, delete), the bulk
//! adjustment with a reason, bad input, and what support may not do.

use crate::console_helpers::{Browser, create_operator};
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use chrono::{DateTime, Duration, Utc};
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    the_search_finds_users_by_the_start_of_their_name_and_an_empty_one_lists_the_newest,
    adjusting_time_by_a_typed_duration_shows_the_new_end_and_the_ledger,
    bad_input_on_the_user_page_says_what_to_correct_and_changes_nothing,
    a_bulk_adjustment_adds_time_to_the_selection_with_its_reason_in_the_ledger,
    devices_limits_variables_ban_and_delete_each_do_what_they_say,
    a_support_operator_adjusts_time_but_cannot_ban_delete_or_change,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";
const PASSWORD: &str = "secure_password123";

async fn sign_up(app: &TestApp, credentials: &AppCredentials, name: &str) -> String {
    let (status, body) = app
        .sign_up(
            credentials,
            json!({"username": name, "password": PASSWORD, "hardware_id": format!("hw-{name}")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, found) = app.user(credentials, name).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["id"].as_str().unwrap().to_owned()
}

async fn membership(app: &TestApp, credentials: &AppCredentials, name: &str) -> Value {
    let (status, found) = app.user(credentials, name).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["membership"].clone()
}

fn until(membership: &Value) -> Option<DateTime<Utc>> {
    membership["active_until"].as_str().map(|at| {
        DateTime::parse_from_rfc3339(at)
            .unwrap()
            .with_timezone(&Utc)
    })
}

/// The text of the element with this id.
fn text_of(html: &str, id: &str) -> String {
    let marker = format!(r#"id="{id}">"#);
    let start = html.find(&marker).unwrap_or_else(|| panic!("no #{id}")) + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

async fn the_search_finds_users_by_the_start_of_their_name_and_an_empty_one_lists_the_newest(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    for name in ["alice", "Alicia", "bob"] {
        sign_up(&app, &credentials, name).await;
    }
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/users", credentials.id);

    let newest = browser.get(&path).await;
    assert_eq!(newest.status, StatusCode::OK);
    assert!(newest.body.contains(r#"<label for="user-search">"#));
    let (bob, alice) = (
        newest.body.find(">bob<").unwrap(),
        newest.body.find(">alice<").unwrap(),
    );
    assert!(bob < alice, "newest first");

    let found = browser.get(&format!("{path}?q=ALI")).await;
    assert!(found.body.contains(">alice<") && found.body.contains(">Alicia<"));
    assert!(!found.body.contains(">bob<"), "{}", found.body);
    let alice = found.body.find(">alice<").unwrap();
    let alicia = found.body.find(">Alicia<").unwrap();
    assert!(alice < alicia, "by name");

    let none = browser.get(&format!("{path}?q=zz")).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.contains(r#"id="users-empty""#));
}

async fn adjusting_time_by_a_typed_duration_shows_the_new_end_and_the_ledger(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let id = sign_up(&app, &credentials, "alice").await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/users/{id}", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(text_of(&page.body, "active-until"), "none");
    assert!(page.body.contains("username and password"));
    assert!(page.body.contains("hw-alice"));
    assert_eq!(text_of(&page.body, "live-sessions"), "0");
    let csrf = page.csrf();

    let before = Utc::now();
    let adjusted = browser
        .post(
            &format!("{path}/adjust"),
            &[
                ("csrf", &csrf),
                ("duration", "3d 4h"),
                ("direction", "add"),
                ("reason", "support ticket 42"),
            ],
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::SEE_OTHER, "{}", adjusted.body);
    assert_eq!(adjusted.location(), Some(path.as_str()));
    let end = until(&membership(&app, &credentials, "alice").await).unwrap();
    let added = Duration::days(3) + Duration::hours(4);
    assert!(end >= before + added - Duration::seconds(1) && end <= Utc::now() + added);
    let shown = browser.get(&path).await;
    assert!(
        shown.body.contains("3d 4h added. Active until"),
        "{}",
        shown.body
    );
    assert_eq!(
        text_of(&shown.body, "active-until"),
        end.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    );
    assert!(shown.body.contains("<td>+3d 4h</td>"));
    assert!(shown.body.contains("support ticket 42"));

    let removed = browser
        .post(
            &format!("{path}/adjust"),
            &[("csrf", &csrf), ("duration", "4h"), ("direction", "remove")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let shorter = until(&membership(&app, &credentials, "alice").await).unwrap();
    assert_eq!(end - shorter, Duration::hours(4));

    let granted = browser
        .post(
            &format!("{path}/lifetime"),
            &[("csrf", &csrf), ("grant", "yes")],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        membership(&app, &credentials, "alice").await["is_lifetime"],
        true
    );
    let page = browser.get(&path).await;
    assert!(page.body.contains("Lifetime access granted."));
    assert_eq!(text_of(&page.body, "lifetime"), "yes");
    let refused = browser
        .post(
            &format!("{path}/adjust"),
            &[("csrf", &csrf), ("duration", "1d"), ("direction", "add")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("This membership is lifetime"));
    let revoked = browser
        .post(
            &format!("{path}/lifetime"),
            &[("csrf", &csrf), ("grant", "no")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        membership(&app, &credentials, "alice").await["is_lifetime"],
        false
    );
}

async fn bad_input_on_the_user_page_says_what_to_correct_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let id = sign_up(&app, &credentials, "alice").await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/users/{id}", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    for (duration, direction, message) in [
        ("3x", "add", "is not a duration part"),
        ("", "add", "type a duration such as"),
        ("lifetime", "add", "lifetime is not a length of time here"),
        ("1d", "sideways", "Choose whether to add or remove"),
    ] {
        let refused = browser
            .post(
                &format!("{path}/adjust"),
                &[
                    ("csrf", &csrf),
                    ("duration", duration),
                    ("direction", direction),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{duration}");
        assert!(
            refused.body.contains(message),
            "{duration}: {}",
            refused.body
        );
        assert!(refused.body.contains(r#"id="user-error""#));
    }
    let limits = browser
        .post(
            &format!("{path}/limits"),
            &[
                ("csrf", &csrf),
                ("device_limit", "0"),
                ("session_limit", ""),
            ],
        )
        .await;
    assert_eq!(limits.status, StatusCode::BAD_REQUEST);
    assert!(
        limits
            .body
            .contains("The device limit must be a whole number")
    );
    let variable = browser
        .post(
            &format!("{path}/variables"),
            &[("csrf", &csrf), ("name", "bad name!"), ("value", "x")],
        )
        .await;
    assert_eq!(variable.status, StatusCode::BAD_REQUEST);
    assert!(variable.body.contains("The variable is not usable"));

    let forged = browser
        .post(
            &format!("{path}/adjust"),
            &[("csrf", "forged"), ("duration", "1d"), ("direction", "add")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bulk = browser
        .post_from(
            &format!("/console/apps/{}/users/adjust", credentials.id),
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("duration", "1d"),
                ("direction", "add"),
            ],
            Some("http://attacker.example"),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::FORBIDDEN);

    let state = membership(&app, &credentials, "alice").await;
    assert_eq!(state["active_until"], Value::Null);
    let (_, found) = app.user(&credentials, "alice").await;
    assert_eq!(found["allowed_number_of_devices"], Value::Null);
    let (_, audit) = send(app.admin(
        &credentials,
        Method::GET,
        "/api/admin/audit?action=membership.adjusted",
    ))
    .await;
    assert!(audit["events"].as_array().unwrap().is_empty(), "{audit}");
    let unknown = browser
        .get(&format!(
            "/console/apps/{}/users/{}",
            credentials.id,
            uuid::Uuid::now_v7()
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn a_bulk_adjustment_adds_time_to_the_selection_with_its_reason_in_the_ledger(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let first = sign_up(&app, &credentials, "first").await;
    let second = sign_up(&app, &credentials, "second").await;
    sign_up(&app, &credentials, "third").await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/users", credentials.id);
    let csrf = browser.get(&path).await.csrf();

    let none = browser
        .post(
            &format!("{path}/adjust"),
            &[("csrf", &csrf), ("duration", "2d"), ("direction", "add")],
        )
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert!(none.body.contains("No user was selected"));
    let garbage = browser
        .post(
            &format!("{path}/adjust"),
            &[
                ("csrf", &csrf),
                ("id", &first),
                ("duration", "two days"),
                ("direction", "add"),
                ("reason", "outage"),
            ],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(garbage.body.contains("is not a duration part"));
    assert!(
        garbage.body.contains(r#"value="two days""#),
        "the typed text stays"
    );
    assert_eq!(
        membership(&app, &credentials, "first").await["active_until"],
        Value::Null
    );

    let adjusted = browser
        .post(
            &format!("{path}/adjust"),
            &[
                ("csrf", &csrf),
                ("id", &first),
                ("id", &second),
                ("duration", "2d"),
                ("direction", "add"),
                ("reason", "outage on 6 December"),
            ],
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::SEE_OTHER, "{}", adjusted.body);
    let page = browser.get(&path).await;
    assert!(
        page.body.contains(
            "2d added to 2 user(s); 0 lifetime membership(s) left as they are; 0 not found."
        ),
        "{}",
        page.body
    );
    assert!(until(&membership(&app, &credentials, "first").await).is_some());
    assert!(until(&membership(&app, &credentials, "second").await).is_some());
    assert_eq!(
        membership(&app, &credentials, "third").await["active_until"],
        Value::Null
    );
    let user_page = browser.get(&format!("{path}/{first}")).await;
    assert!(user_page.body.contains("<td>+2d</td>"));
    assert!(user_page.body.contains("outage on 6 December"));
    let (_, audit) = send(app.admin(
        &credentials,
        Method::GET,
        "/api/admin/audit?action=membership.adjusted",
    ))
    .await;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{audit}");
    assert!(
        events
            .iter()
            .all(|event| event["summary"]["reason"] == "outage on 6 December"),
        "{audit}"
    );
}

async fn devices_limits_variables_ban_and_delete_each_do_what_they_say(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(true).await;
    let id = sign_up(&app, &credentials, "mallory").await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/users/{id}", credentials.id);
    let page = browser.get(&path).await;
    assert!(
        page.body.contains(r#"<dd id="ban">not banned</dd>"#),
        "{}",
        page.body
    );
    let csrf = page.csrf();

    let asked = browser
        .post(&format!("{path}/reset-devices"), &[("csrf", &csrf)])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("Reset this user"));
    let (_, found) = app.user(&credentials, "mallory").await;
    assert_eq!(found["registered_devices"].as_array().unwrap().len(), 1);
    let reset = browser
        .post(
            &format!("{path}/reset-devices"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let (_, found) = app.user(&credentials, "mallory").await;
    assert!(found["registered_devices"].as_array().unwrap().is_empty());
    assert!(browser.get(&path).await.body.contains("Devices reset."));

    let limits = browser
        .post(
            &format!("{path}/limits"),
            &[
                ("csrf", &csrf),
                ("device_limit", "3"),
                ("session_limit", ""),
            ],
        )
        .await;
    assert_eq!(limits.status, StatusCode::SEE_OTHER);
    let (_, found) = app.user(&credentials, "mallory").await;
    assert_eq!(found["allowed_number_of_devices"], 3);
    assert_eq!(
        found["allowed_number_of_simultaneous_sessions"],
        Value::Null
    );

    let set = browser
        .post(
            &format!("{path}/variables"),
            &[("csrf", &csrf), ("name", "tier"), ("value", "gold")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let page = browser.get(&path).await;
    assert!(
        page.body.contains("<code>tier</code></td><td>gold</td>"),
        "{}",
        page.body
    );
    let (_, variables) = send(app.admin(
        &credentials,
        Method::GET,
        &format!("/api/admin/users/{id}/variables"),
    ))
    .await;
    assert!(variables.to_string().contains("gold"), "{variables}");
    let deleted = browser
        .post(
            &format!("{path}/variables/delete"),
            &[("csrf", &csrf), ("name", "tier"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(
        browser
            .get(&path)
            .await
            .body
            .contains("Variable tier deleted.")
    );

    let banned = browser
        .post(
            &format!("{path}/ban"),
            &[("csrf", &csrf), ("reason", "fraud"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);
    let (status, body) = send(
        app.integration(&credentials, "/api/integration/auth/login")
            .json(&json!({"credentials": {"username": "mallory", "password": PASSWORD}, "hardware_id": "hw-mallory"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let page = browser.get(&path).await.body;
    assert!(
        page.contains(r#"<dd id="ban">banned, never expires: fraud</dd>"#),
        "the user page says the user is banned: {page}"
    );

    let asked = browser
        .post(&format!("{path}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("Delete mallory?"));
    assert_eq!(app.user(&credentials, "mallory").await.0, StatusCode::OK);
    let gone = browser
        .post(
            &format!("{path}/delete"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.user(&credentials, "mallory").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND);
    let (_, audit) = send(app.admin(
        &credentials,
        Method::GET,
        "/api/admin/audit?action=user.deleted",
    ))
    .await;
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["actor"]["kind"], "operator");
}

async fn a_support_operator_adjusts_time_but_cannot_ban_delete_or_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let id = sign_up(&app, &credentials, "alice").await;
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/users/{id}", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="adjust-time""#));
    assert!(page.body.contains(r#"id="reset-devices""#));
    assert!(!page.body.contains(r#"id="ban-user""#));
    assert!(!page.body.contains(r#"id="delete-user""#));
    assert!(!page.body.contains(r#"id="limits-form""#));
    let csrf = page.csrf();

    let adjusted = browser
        .post(
            &format!("{path}/adjust"),
            &[("csrf", &csrf), ("duration", "1d"), ("direction", "add")],
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::SEE_OTHER);
    for (action, fields) in [
        ("ban", vec![("confirm", "yes")]),
        ("delete", vec![("confirm", "yes")]),
        ("limits", vec![("device_limit", "5")]),
        ("variables", vec![("name", "tier"), ("value", "gold")]),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(fields);
        let refused = browser.post(&format!("{path}/{action}"), &all).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(app.user(&credentials, "alice").await.0, StatusCode::OK);
    let (_, found) = app.user(&credentials, "alice").await;
    assert_eq!(found["allowed_number_of_devices"], Value::Null);
}
