//! The console's bans screen over HTTP: the list with its filters and cursor, adding a ban
//! (with a reason and a duration), lifting one after a confirmation, the messages for bad
//! input, and a support operator who may only read.

use crate::console_helpers::{Browser, create_operator};
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_owner_bans_an_address_with_a_reason_and_a_duration_and_lifts_it_after_confirming,
    banning_a_user_by_name_refuses_their_sign_in_and_the_type_filter_finds_it,
    bad_input_says_what_to_correct_and_bans_nothing,
    the_list_pages_by_cursor_and_keeps_its_filter,
    a_support_operator_sees_the_bans_but_cannot_add_or_lift_them,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn api_bans(app: &TestApp, credentials: &AppCredentials, query: &str) -> Vec<Value> {
    let (status, body) = send(app.admin(
        credentials,
        Method::GET,
        &format!("/api/admin/bans?{query}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["bans"].as_array().unwrap().clone()
}

async fn an_owner_bans_an_address_with_a_reason_and_a_duration_and_lifts_it_after_confirming(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/bans", credentials.id);

    let empty = browser.get(&path).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No ban in force."));
    let csrf = empty.csrf();

    let added = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("type", "ip"),
                ("value", "203.0.113.7"),
                ("reason", "credential stuffing"),
                ("ends_after", "7d"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), Some(path.as_str()));
    let listed = browser.get(&path).await;
    assert!(
        listed.body.contains("Banned ip 203.0.113.7."),
        "{}",
        listed.body
    );
    assert!(listed.body.contains("<code>203.0.113.7</code>"));
    assert!(listed.body.contains("credential stuffing"));

    let bans = api_bans(&app, &credentials, "").await;
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0]["type"], "ip");
    assert_eq!(bans[0]["reason"], "credential stuffing");
    let created =
        chrono::DateTime::parse_from_rfc3339(bans[0]["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(bans[0]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, chrono::Duration::days(7));

    // The change is recorded as this console operator's.
    let (_, audit) = send(app.admin(
        &credentials,
        Method::GET,
        "/api/admin/audit?action=ban.created",
    ))
    .await;
    let actor = &audit["events"][0]["actor"];
    assert_eq!(actor["kind"], "operator", "{audit}");
    assert!(actor["id"].as_str().is_some_and(|id| !id.is_empty()));

    // Lifting asks first; the question changes nothing.
    let id = bans[0]["id"].as_str().unwrap();
    let lift = format!("{path}/{id}/lift");
    let question = browser
        .post(&lift, &[("csrf", &csrf), ("shown", "ip 203.0.113.7")])
        .await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("Lift this ban?"));
    assert!(question.body.contains(r#"name="confirm" value="yes""#));
    assert_eq!(api_bans(&app, &credentials, "").await.len(), 1);

    let lifted = browser
        .post(
            &lift,
            &[
                ("csrf", &csrf),
                ("shown", "ip 203.0.113.7"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER);
    assert!(api_bans(&app, &credentials, "").await.is_empty());
    let after = browser.get(&path).await;
    assert!(after.body.contains("Lifted the ban of ip 203.0.113.7."));
    assert!(after.body.contains("No ban in force."));
}

async fn banning_a_user_by_name_refuses_their_sign_in_and_the_type_filter_finds_it(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let (status, body) = app
        .sign_up(
            &credentials,
            json!({"username": "mallory", "password": "secure_password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, found) = app.user(&credentials, "mallory").await;
    let user_id = found["id"].as_str().map(str::to_owned);
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/bans", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    let added = browser
        .post(
            &path,
            &[("csrf", &csrf), ("type", "user"), ("value", "mallory")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);

    let (status, body) = send(
        app.integration(&credentials, "/api/integration/auth/login")
            .json(
                &json!({"credentials": {"username": "mallory", "password": "secure_password123"}}),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The user's sign-up address was banned with them: the filter shows only the user ban.
    let users = browser.get(&format!("{path}?type=user")).await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(
        users.body.matches("<td>User</td>").count(),
        1,
        "{}",
        users.body
    );
    assert!(!users.body.contains("<td>IP address or range</td>"));
    let user_id = user_id.expect("the admin API finds the user");
    assert!(users.body.contains(&user_id), "{}", users.body);
    let user_page = format!("/console/apps/{}/users/{user_id}", credentials.id);
    assert!(
        users.body.contains(&format!("href=\"{user_page}\"")),
        "links the user's page"
    );
    let all = browser.get(&path).await;
    assert!(
        all.body.contains("<td>IP address or range</td>"),
        "{}",
        all.body
    );
}

async fn bad_input_says_what_to_correct_and_bans_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/bans", credentials.id);
    let csrf = browser.get(&path).await.csrf();

    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("type", "ip"), ("value", "300.1.2.3")],
            "IP address or range is not usable",
        ),
        (
            &[("type", "user"), ("value", "nobody_here")],
            "No user of this application",
        ),
        (
            &[("type", "license"), ("value", "AAAA-BBBB-CCCC")],
            "No license of this application",
        ),
        (&[("type", "ip"), ("value", "")], "Enter the value to ban"),
        (
            &[
                ("type", "ip"),
                ("value", "203.0.113.9"),
                ("ends_after", "soon"),
            ],
            "is not a duration",
        ),
        (
            &[("type", "planet"), ("value", "mars")],
            "Choose what to ban",
        ),
    ];
    for (fields, message) in cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let answer = browser.post(&path, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        assert!(answer.body.contains(message), "{fields:?}: {}", answer.body);
        // The form keeps what was typed.
        let value = fields.iter().find(|(name, _)| *name == "value").unwrap().1;
        assert!(answer.body.contains(&format!(r#"value="{value}""#)));
    }
    assert!(api_bans(&app, &credentials, "").await.is_empty());

    let bad_filter = browser.get(&format!("{path}?type=planet")).await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert!(bad_filter.body.contains("Choose one from the list"));
}

async fn the_list_pages_by_cursor_and_keeps_its_filter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    for n in 0..53 {
        let (status, body) = app
            .ban(&credentials, "hardware_id", &format!("device-{n:02}"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = app.ban(&credentials, "ip", "198.51.100.0/24").await;
    assert_eq!(status, StatusCode::CREATED);
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/bans", credentials.id);

    let first = browser.get(&format!("{path}?type=hardware_id")).await;
    assert_eq!(first.body.matches("<td>Hardware id</td>").count(), 50);
    assert!(first.body.contains("device-52"), "newest first");
    let marker = "rel=\"next\"";
    assert!(first.body.contains(marker));
    let start = first
        .body
        .find(&format!("{path}?type=hardware_id"))
        .unwrap();
    let href = &first.body[start..];
    let href = &href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(href.contains("after="), "{href}");
    let second = browser.get(href).await;
    assert_eq!(second.body.matches("<td>Hardware id</td>").count(), 3);
    assert!(second.body.contains("device-00"));
    assert!(!second.body.contains("198.51.100.0/24"), "the filter holds");
    assert!(!second.body.contains(marker));

    let found = browser
        .get(&format!("{path}?value=198.51.100.7%2F24"))
        .await;
    assert!(found.body.contains("198.51.100.0/24"), "{}", found.body);
    assert!(!found.body.contains("<code>device-"));
}

async fn a_support_operator_sees_the_bans_but_cannot_add_or_lift_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let (_, ban) = app.ban(&credentials, "ip", "192.0.2.1").await;
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/bans", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("192.0.2.1"));
    assert!(!page.body.contains("Add a ban"));
    assert!(!page.body.contains("/lift"));
    let csrf = page.csrf();

    let add = browser
        .post(
            &path,
            &[("csrf", &csrf), ("type", "ip"), ("value", "192.0.2.2")],
        )
        .await;
    assert_eq!(add.status, StatusCode::FORBIDDEN);
    let lift = browser
        .post(
            &format!("{path}/{}/lift", ban["id"].as_str().unwrap()),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(lift.status, StatusCode::FORBIDDEN);
    assert_eq!(api_bans(&app, &credentials, "").await.len(), 1);
}
