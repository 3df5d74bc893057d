//! The cursor lists over HTTP: users, licenses, bans and applications page newest first,
//! rows added while a client pages are neither skipped nor repeated, and bad parameters
//! are refused in the contract's format. Also expiring bans and banning a banned target.

use crate::helpers::{
    AppCredentials, Backend, OPERATOR_TOKEN, TestApp, all_at_once, assert_error, send,
};
use crate::on_both_backends;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use std::collections::HashSet;

on_both_backends!(
    pages_stay_stable_while_rows_are_added_concurrently,
    list_parameters_are_checked_and_the_old_user_pages_still_work,
    licenses_are_filtered_by_use_ban_and_code,
    bans_expire_when_asked_and_a_banned_target_keeps_its_ban,
    bans_are_filtered_by_type_and_value,
);

/// Every page of `path` (items under `key`), `limit` at a time, sending `meanwhile()`'s
/// requests together with each page's request; the ids in the order listed.
async fn walk(
    page: impl Fn(&str) -> RequestBuilder,
    key: &str,
    meanwhile: impl Fn() -> Vec<RequestBuilder>,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut query = "limit=4".to_owned();
    loop {
        let mut requests = vec![page(&query)];
        requests.extend(meanwhile());
        let answers = all_at_once(requests).await;
        for (status, body) in &answers[1..] {
            assert!(status.is_success(), "{status} {body}");
        }
        let (status, body) = &answers[0];
        assert_eq!(status.as_u16(), 200, "{body}");
        let items = body[key].as_array().unwrap();
        assert!(items.len() <= 4);
        ids.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=4&cursor={cursor}"),
            None => break,
        }
        assert!(ids.len() < 1000, "the walk ends");
    }
    ids
}

fn admin_get(
    app: &TestApp,
    creds: &AppCredentials,
    path: &'static str,
) -> impl Fn(&str) -> RequestBuilder {
    move |query| app.admin(creds, Method::GET, &format!("{path}?{query}"))
}

/// Asserts that `listed` holds every row of `before` once, newest first. A row added while
/// the first page was read may come first (it is the newest); none added later shows.
#[track_caller]
fn assert_exactly_newest_first(listed: &[String], before: &[String]) {
    let mut expected = before.to_vec();
    expected.reverse();
    let added_first = listed.iter().take_while(|id| !before.contains(id)).count();
    assert!(
        added_first <= 1,
        "only the first page's concurrent row: {listed:?}"
    );
    assert_eq!(
        &listed[added_first..],
        expected,
        "every row present before once, newest first"
    );
}

async fn pages_stay_stable_while_rows_are_added_concurrently(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let codes = app.mint(&creds, 40, Some(60)).await;
    let mut users = Vec::new();
    for code in &codes[..9] {
        let (status, user) = app.license_sign_up(&creds, json!({"code": code})).await;
        assert_eq!(status, 200, "{user}");
        users.push(user["id"].as_str().unwrap().to_owned());
    }
    let spare = std::sync::Mutex::new(codes[9..].to_vec());
    let sign_ups = || {
        let code = spare.lock().unwrap().pop().unwrap();
        vec![
            app.integration(&creds, "/api/integration/sign_up_with_license_code")
                .json(&json!({"code": code})),
        ]
    };
    let listed = walk(
        admin_get(&app, &creds, "/api/admin/users"),
        "users",
        sign_ups,
    )
    .await;
    assert_exactly_newest_first(&listed, &users);

    // Licenses: all 40 exist before the walk; each page comes with a newly minted one.
    let (_, page) = send(app.admin(&creds, Method::GET, "/api/admin/licenses?limit=200")).await;
    let mut licenses: Vec<String> = page["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|license| license["id"].as_str().unwrap().to_owned())
        .collect();
    licenses.reverse();
    let mint = || {
        vec![
            app.admin(&creds, Method::POST, "/api/admin/licenses")
                .json(&json!({"count": 1})),
        ]
    };
    let listed = walk(
        admin_get(&app, &creds, "/api/admin/licenses"),
        "licenses",
        mint,
    )
    .await;
    assert_exactly_newest_first(&listed, &licenses);

    // Bans, with a new ban per page.
    let mut bans = Vec::new();
    for n in 0..6 {
        let (status, ban) = app.ban(&creds, "hardware_id", &format!("device-{n}")).await;
        assert_eq!(status, 201, "{ban}");
        bans.push(ban["id"].as_str().unwrap().to_owned());
    }
    let next = std::sync::atomic::AtomicU32::new(0);
    let ban_more = || {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        vec![
            app.admin(&creds, Method::POST, "/api/admin/bans")
                .json(&json!({"type": "ip", "value": format!("192.0.2.{n}")})),
        ]
    };
    let listed = walk(admin_get(&app, &creds, "/api/admin/bans"), "bans", ban_more).await;
    assert_exactly_newest_first(&listed, &bans);

    // Applications, through the operator API.
    let operator_page = |query: &str| {
        app.client
            .get(app.url(&format!("/api/operator/applications?{query}")))
            .bearer_auth(OPERATOR_TOKEN)
    };
    let mut applications = vec![creds.id.clone()];
    for _ in 0..4 {
        applications.push(app.create_app(false).await.id);
    }
    let listed = walk(operator_page, "applications", Vec::new).await;
    assert_exactly_newest_first(&listed, &applications);
}

async fn list_parameters_are_checked_and_the_old_user_pages_still_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    for code in app.mint(&creds, 3, None).await {
        app.license_sign_up(&creds, json!({"code": code})).await;
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=AAAA", "cursor"),
        ("page=1&cursor=AAAAAAAAAAAAAAAAAAAAAA", "page"),
        ("page=0", "page"),
        ("page=9223372036854775808", "page"),
        ("per_page=201", "per_page"),
    ] {
        let path = format!("/api/admin/users?{query}");
        let answer = send(app.admin(&creds, Method::GET, &path)).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{query}");
    }
    for path in ["/api/admin/bans?limit=0", "/api/admin/licenses?cursor=%21"] {
        let answer = send(app.admin(&creds, Method::GET, path)).await;
        assert_error(&answer, 422, "validation_failed");
    }

    let (status, first) = send(app.admin(&creds, Method::GET, "/api/admin/users?limit=2")).await;
    assert_eq!(status, 200);
    assert_eq!(first["users"].as_array().unwrap().len(), 2);
    assert!(first["next_cursor"].is_string());
    assert!(first.get("total").is_none(), "cursor pages do not count");

    // The deprecated offset pages: oldest first, with a total.
    let (status, old) =
        send(app.admin(&creds, Method::GET, "/api/admin/users?page=2&per_page=2")).await;
    assert_eq!(status, 200, "{old}");
    assert_eq!(
        (
            old["page"].clone(),
            old["per_page"].clone(),
            old["total"].clone()
        ),
        (json!(2), json!(2), json!(3))
    );
    let oldest_page_two = old["users"][0]["id"].clone();
    assert_eq!(
        oldest_page_two, first["users"][0]["id"],
        "the third oldest of three is the newest"
    );
}

async fn licenses_are_filtered_by_use_ban_and_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let codes = app.mint(&creds, 3, Some(60)).await;
    app.license_sign_up(&creds, json!({"code": codes[0]})).await;
    let (status, ban) = app.ban(&creds, "license", &codes[1]).await;
    assert_eq!(status, 201, "{ban}");
    let ids = |body: &Value| -> HashSet<String> {
        body["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|license| license["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let get =
        |query: &str| send(app.admin(&creds, Method::GET, &format!("/api/admin/licenses?{query}")));
    let mut ids_by_code = Vec::new();
    for code in &codes {
        let (_, license) = app.license(&creds, code).await;
        ids_by_code.push(license["id"].as_str().unwrap().to_owned());
    }
    let [used, banned, plain] = <[String; 3]>::try_from(ids_by_code).unwrap();

    assert_eq!(
        ids(&get("used=true").await.1),
        HashSet::from([used.clone()])
    );
    assert_eq!(
        ids(&get("used=false").await.1),
        HashSet::from([banned.clone(), plain.clone()])
    );
    let (_, banned_only) = get("banned=true").await;
    assert_eq!(ids(&banned_only), HashSet::from([banned.clone()]));
    assert_eq!(banned_only["licenses"][0]["is_banned"], true);
    assert_eq!(
        ids(&get("banned=false&used=false").await.1),
        HashSet::from([plain])
    );
    let by_code = format!("code={}", codes[0].to_lowercase());
    assert_eq!(ids(&get(&by_code).await.1), HashSet::from([used]));
    assert!(ids(&get("created_since=2999-01-01T00:00:00Z").await.1).is_empty());
    assert_eq!(
        ids(&get("created_until=2999-01-01T00:00:00Z").await.1).len(),
        3
    );
    for (query, field) in [
        ("used=maybe", "used"),
        ("banned=1", "banned"),
        ("created_since=yesterday", "created_since"),
        ("code=not%20a%20code!", "code"),
    ] {
        let answer = get(query).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{query}");
    }
}

async fn bans_expire_when_asked_and_a_banned_target_keeps_its_ban(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let post = |body: Value| {
        send(
            app.admin(&creds, Method::POST, "/api/admin/bans")
                .json(&body),
        )
    };

    let (status, timed) =
        post(json!({"type": "hardware_id", "value": "hw-1", "duration_seconds": 3600})).await;
    assert_eq!(status, 201, "{timed}");
    let created =
        chrono::DateTime::parse_from_rfc3339(timed["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(timed["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, chrono::Duration::hours(1));

    let (status, again) =
        post(json!({"type": "hardware_id", "value": "hw-1", "reason": "again"})).await;
    assert_eq!(status, 200, "a banned target keeps its ban: {again}");
    assert_eq!(again, timed);

    let (status, permanent) = post(json!({"type": "ip", "value": "198.51.100.0/24"})).await;
    assert_eq!(status, 201);
    assert_eq!(permanent["expires_at"], Value::Null);
    let (status, until) =
        post(json!({"type": "ip", "value": "198.51.100.9", "expires_at": "2999-01-01T00:00:00Z"}))
            .await;
    assert_eq!(
        status, 201,
        "a single address inside a banned range is its own ban"
    );
    assert_eq!(until["expires_at"], "2999-01-01T00:00:00Z");

    for (body, field) in [
        (
            json!({"type": "ip", "value": "10.0.0.1", "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"type": "ip", "value": "10.0.0.1", "duration_seconds": 0}),
            "duration_seconds",
        ),
        (
            json!({"type": "ip", "value": "10.0.0.1", "duration_seconds": 315_360_001}),
            "duration_seconds",
        ),
        (
            json!({"type": "ip", "value": "10.0.0.1", "duration_seconds": 60, "expires_at": "2999-01-01T00:00:00Z"}),
            "duration_seconds",
        ),
    ] {
        let answer = post(body.clone()).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{body}");
    }
    let (_, list) = send(app.admin(&creds, Method::GET, "/api/admin/bans")).await;
    assert_eq!(
        list["bans"].as_array().unwrap().len(),
        3,
        "nothing refused was stored: {list}"
    );
}

async fn bans_are_filtered_by_type_and_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    for (kind, value) in [
        ("ip", "1.2.3.4"),
        ("hardware_id", "1.2.3.4"),
        ("ip", "2001:db8::/48"),
    ] {
        assert_eq!(app.ban(&creds, kind, value).await.0, 201);
    }
    let get =
        |query: &str| send(app.admin(&creds, Method::GET, &format!("/api/admin/bans?{query}")));
    let kinds = |body: &Value| -> Vec<String> {
        body["bans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ban| {
                format!(
                    "{} {}",
                    ban["type"].as_str().unwrap(),
                    ban["value"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        kinds(&get("value=1.2.3.4").await.1),
        vec!["hardware_id 1.2.3.4", "ip 1.2.3.4"]
    );
    assert_eq!(
        kinds(&get("type=ip&value=%3A%3Affff%3A1.2.3.4").await.1),
        vec!["ip 1.2.3.4"]
    );
    assert_eq!(
        kinds(&get("type=ip").await.1),
        vec!["ip 2001:db8::/48", "ip 1.2.3.4"]
    );
    assert_eq!(
        kinds(&get("value=2001:DB8::/48").await.1),
        vec!["ip 2001:db8::/48"]
    );
    assert!(kinds(&get("type=user&value=1.2.3.4").await.1).is_empty());
    let answer = get("type=country").await;
    assert_error(&answer, 422, "validation_failed");
    assert_eq!(answer.1["field"], "type");
}
