//! The audit log over HTTP: sign-ups and activations recorded with who, what and from where,
//! filtered and paged; refused changes leave nothing; codes and passwords never appear.

use crate::helpers::{AppCredentials, Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    sign_ups_and_activations_are_in_the_audit_log_with_their_actor_and_origin,
    the_audit_log_filters_pages_and_refuses_bad_filters,
    admin_changes_to_users_are_recorded_by_the_admin_key_s_id,
    the_export_streams_every_matching_event_as_ndjson_across_pages,
    a_device_a_sign_in_registers_is_recorded_once_and_admin_changes_by_their_key,
);

async fn audit(app: &TestApp, creds: &AppCredentials, query: &str) -> Vec<Value> {
    let (status, body) =
        send(app.admin(creds, Method::GET, &format!("/api/admin/audit?{query}"))).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect()
}

async fn sign_ups_and_activations_are_in_the_audit_log_with_their_actor_and_origin(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let codes = app.mint(&creds, 3, Some(60)).await;

    let (status, user) = send(
        app.integration(&creds, "/api/integration/sign_up_with_license_code")
            .header("user-agent", "vendor-app/2.1")
            .header("x-request-id", "req-7")
            .json(&json!({"code": codes[0], "hardware_id": "device-1"})),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    let user_id = user["id"].as_str().unwrap();
    let minted = audit(&app, &creds, "action=license.created").await;
    assert_eq!(minted.len(), 3, "one event per license minted");
    for event in &minted {
        assert_eq!(event["actor"]["kind"], "admin_key");
        assert_eq!(event["target"]["kind"], "license");
        assert_eq!(event["summary"], json!({"minutes": 60}));
    }
    assert!(
        codes.iter().all(|code| !Value::Array(minted.clone())
            .to_string()
            .contains(code.as_str())),
        "codes never appear, only license ids"
    );
    let events = audit(&app, &creds, "actor=end_user").await;
    assert_eq!(
        actions(&events),
        ["device.registered", "license.redeemed", "user.created"],
        "newest first; the three were recorded together"
    );
    for event in &events {
        assert_eq!(event["actor"], json!({"kind": "end_user", "id": user_id}));
        assert_eq!(event["client_ip"], "127.0.0.1");
        assert_eq!(event["user_agent"], "vendor-app/2.1");
        assert_eq!(event["request_id"], "req-7");
    }
    assert_eq!(events[2]["target"], json!({"kind": "user", "id": user_id}));
    assert_eq!(events[2]["summary"]["credential"], "license_code");
    assert_eq!(events[1]["target"]["kind"], "license");
    assert_eq!(events[1]["summary"]["user_id"], user_id);
    assert_eq!(events[0]["summary"]["hardware_id"], "device-1");

    // A password sign-up, then an activation of a second code for that user.
    let (status, alice) = app
        .sign_up(
            &creds,
            json!({"username": "alice", "password": "secure_password123", "hardware_id": "device-2"}),
        )
        .await;
    assert_eq!(status, 200, "{alice}");
    let activate = json!({"code": codes[1], "username": "alice", "password": "secure_password123"});
    let (status, body) = send(
        app.integration(&creds, "/api/integration/activate_license")
            .json(&activate),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let alice_id = alice["id"].as_str().unwrap();
    let of_alice = audit(&app, &creds, &format!("actor={alice_id}")).await;
    assert_eq!(
        actions(&of_alice),
        [
            "membership.adjusted",
            "license.activated",
            "device.registered",
            "user.created"
        ]
    );
    assert_eq!(of_alice[0]["summary"]["minutes"], 60);
    assert_eq!(
        of_alice[0]["target"],
        json!({"kind": "user", "id": alice_id})
    );
    assert_eq!(of_alice[3]["summary"]["username"], "alice");
    assert_eq!(of_alice[3]["user_agent"], Value::Null);

    // Refused: a used code and a taken name change nothing, so they record nothing.
    let (status, _) = app
        .license_sign_up(&creds, json!({"code": codes[0], "hardware_id": "device-3"}))
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .sign_up(
            &creds,
            json!({"username": "ALICE", "password": "secure_password123", "hardware_id": "device-4"}),
        )
        .await;
    assert_eq!(status, 422);
    let all = audit(&app, &creds, "limit=200").await;
    assert_eq!(
        all.len(),
        10,
        "three licenses minted, then seven events of the users"
    );
    let text = Value::Array(all).to_string();
    for secret in [
        &codes[0],
        &codes[1],
        "secure_password123",
        &creds.api_secret,
    ] {
        assert!(!text.contains(secret), "the audit log shows {secret}");
    }
    let other = app.create_app(true).await;
    assert!(
        audit(&app, &other, "").await.is_empty(),
        "another application's log is its own"
    );
}

async fn the_audit_log_filters_pages_and_refuses_bad_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let before = chrono::Utc::now();
    for code in app.mint(&creds, 3, None).await {
        let (status, body) = app.license_sign_up(&creds, json!({"code": code})).await;
        assert_eq!(status, 200, "{body}");
    }
    let after = chrono::Utc::now();

    let users = audit(&app, &creds, "action=user.created").await;
    assert_eq!(actions(&users), ["user.created"; 3]);
    let target = users[1]["target"]["id"].as_str().unwrap();
    let of_one = audit(&app, &creds, &format!("target={target}")).await;
    assert_eq!(actions(&of_one), ["user.created"]);
    assert_eq!(audit(&app, &creds, "actor=end_user").await.len(), 6);
    assert!(audit(&app, &creds, "actor=operator").await.is_empty());
    let since = urlencode(&before.to_rfc3339());
    let until = urlencode(&after.to_rfc3339());
    assert_eq!(
        audit(&app, &creds, &format!("since={since}&until={until}"))
            .await
            .len(),
        9,
        "three licenses minted, three sign-ups of two events each"
    );
    assert!(
        audit(&app, &creds, &format!("since={until}"))
            .await
            .is_empty()
    );

    // Two at a time, every event once, newest first.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let (status, body) =
            send(app.admin(&creds, Method::GET, &format!("/api/admin/audit?{query}"))).await;
        assert_eq!(status, 200, "{body}");
        let page = body["events"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .map(|event| event["id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let all: Vec<String> = audit(&app, &creds, "limit=200")
        .await
        .iter()
        .map(|event| event["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, all);
    let mut sorted = all.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(all, sorted, "newest first by id");

    for (query, field) in [
        ("action=user.exploded", "action"),
        ("target=not-a-uuid", "target"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("limit=0", "limit"),
    ] {
        let answer =
            send(app.admin(&creds, Method::GET, &format!("/api/admin/audit?{query}"))).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{query}");
    }
    let (status, _) = send(
        app.client
            .get(app.url("/api/admin/audit"))
            .bearer_auth("lk_adm_wrong"),
    )
    .await;
    assert_eq!(status, 401);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// `adm_` and the first 12 hex digits of the key's SHA-256, as docs/events.md says.
fn admin_key_id(key: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("adm_{hex}")
}

async fn admin_changes_to_users_are_recorded_by_the_admin_key_s_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let body = json!({"username": "bob", "password": "secure_password123", "hardware_id": "d-1"});
    let (status, bob) = app.sign_up(&creds, body).await;
    assert_eq!(status, 200, "{bob}");
    let bob_id = bob["id"].as_str().unwrap();
    for (path, body) in [
        (
            "/api/admin/adjust-membership-time",
            json!({"user_id": bob_id, "minutes": 90, "action": "add"}),
        ),
        (
            "/api/admin/lifetime-access",
            json!({"user_id": bob_id, "action": "grant"}),
        ),
        ("/api/admin/reset-devices", json!({"user_id": bob_id})),
    ] {
        let request = app
            .admin(&creds, Method::POST, path)
            .header("x-request-id", "support-ticket-42")
            .json(&body);
        let (status, answer) = send(request).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    // Refused: time cannot be added to a lifetime membership, so nothing is recorded.
    let refused = app
        .admin(&creds, Method::POST, "/api/admin/adjust-membership-time")
        .json(&json!({"user_id": bob_id, "minutes": 5, "action": "add"}));
    assert_eq!(send(refused).await.0, 409);

    let by_admin = audit(&app, &creds, "actor=admin_key").await;
    assert_eq!(
        actions(&by_admin),
        [
            "devices.reset",
            "membership.adjusted",
            "membership.adjusted"
        ]
    );
    let key_id = admin_key_id(&creds.admin_api_key);
    for event in &by_admin {
        assert_eq!(event["actor"], json!({"kind": "admin_key", "id": key_id}));
        assert_eq!(event["target"], json!({"kind": "user", "id": bob_id}));
        assert_eq!(event["request_id"], "support-ticket-42");
    }
    assert_eq!(by_admin[0]["summary"]["devices_removed"], 1);
    assert_eq!(by_admin[1]["summary"]["grants_lifetime_access"], true);
    assert_eq!(by_admin[2]["summary"]["minutes"], 90);
    assert_eq!(
        audit(&app, &creds, &format!("actor={key_id}")).await.len(),
        3
    );
    let text = Value::Array(by_admin).to_string();
    assert!(
        !text.contains(&creds.admin_api_key),
        "the key itself never shows"
    );
}

async fn the_export_streams_every_matching_event_as_ndjson_across_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    // 105 licenses minted and signed up with make 315 events: more than a page of 200.
    let sign_ups = app
        .mint(&creds, 105, Some(60))
        .await
        .into_iter()
        .map(|code| {
            app.integration(&creds, "/api/integration/sign_up_with_license_code")
                .json(&json!({"code": code}))
        });
    for answer in crate::helpers::all_at_once(sign_ups.collect()).await {
        assert_eq!(answer.0, 200, "{}", answer.1);
    }

    let export = |query: &str| {
        app.admin(
            &creds,
            Method::GET,
            &format!("/api/admin/audit/export?{query}"),
        )
        .send()
    };
    let response = export("").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let exported: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(exported.len(), 315);
    assert!(text.ends_with('\n'), "every line ends");

    let mut listed = Vec::new();
    let mut query = "limit=200".to_owned();
    loop {
        let (status, body) =
            send(app.admin(&creds, Method::GET, &format!("/api/admin/audit?{query}"))).await;
        assert_eq!(status, 200, "{body}");
        listed.extend(body["events"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=200&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        exported, listed,
        "the export is the list, whole, in its order"
    );

    let redeemed = export("action=license.redeemed")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(redeemed.lines().count(), 105);
    let nothing = export("since=2999-01-01T00:00:00Z").await.unwrap();
    assert_eq!(nothing.status(), 200);
    assert_eq!(nothing.text().await.unwrap(), "");
    let bad = send(app.admin(&creds, Method::GET, "/api/admin/audit/export?until=soon")).await;
    assert_error(&bad, 422, "validation_failed");
    assert_eq!(bad.1["field"], "until");
    let (status, _) = send(app.client.get(app.url("/api/admin/audit/export"))).await;
    assert_eq!(status, 401);
}

async fn a_device_a_sign_in_registers_is_recorded_once_and_admin_changes_by_their_key(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let code = app.mint(&creds, 1, None).await.remove(0);
    let (status, user) = app.license_sign_up(&creds, json!({"code": code})).await;
    assert_eq!(status, 200, "{user}");
    let login = json!({"credentials": {"code": code}, "hardware_id": "laptop-2"});
    for _ in 0..2 {
        let (status, body) = send(
            app.integration(&creds, "/api/integration/auth/login")
                .header("user-agent", "vendor-app/3.0")
                .json(&login),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let devices = audit(&app, &creds, "action=device.registered").await;
    assert_eq!(devices.len(), 1, "the second sign-in found the device");
    assert_eq!(
        devices[0]["actor"],
        json!({"kind": "end_user", "id": user["id"]})
    );
    assert_eq!(devices[0]["user_agent"], "vendor-app/3.0");
    assert_eq!(devices[0]["summary"]["hardware_id"], "laptop-2");

    let (status, ban) = app
        .ban(&creds, "user", user["username"].as_str().unwrap())
        .await;
    assert_eq!(status, 201, "{ban}");
    let banned = audit(&app, &creds, "action=user.banned").await;
    assert_eq!(banned[0]["target"]["id"], user["id"]);
    assert_eq!(banned[0]["actor"]["kind"], "admin_key");
    let created = audit(&app, &creds, "action=ban.created").await;
    let by_system = created
        .iter()
        .filter(|event| event["actor"]["kind"] == "system")
        .count();
    assert!(
        by_system >= 2,
        "the user's address and device banned with them: {created:?}"
    );
    let user_ban = created
        .iter()
        .find(|event| event["actor"]["kind"] == "admin_key")
        .unwrap();
    assert_eq!(user_ban["summary"]["type"], "user");
    assert_eq!(user_ban["target"]["id"], ban["id"]);
    let lifted = send(app.admin(
        &creds,
        Method::DELETE,
        &format!("/api/admin/bans/{}", ban["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(lifted.0, 204);
    assert_eq!(audit(&app, &creds, "action=ban.deleted").await.len(), 1);

    let (status, _) = send(
        app.admin(&creds, Method::PATCH, "/api/admin/settings")
            .json(&json!({"allowed_number_of_simultaneous_sessions": 3})),
    )
    .await;
    assert_eq!(status, 200);
    let changed = audit(&app, &creds, "action=application.settings_changed").await;
    assert_eq!(
        changed[0]["summary"],
        json!({"allowed_number_of_simultaneous_sessions": 3})
    );
    let (status, _) = send(
        app.client
            .post(app.url(&format!("/api/operator/applications/{}/rotate", creds.id)))
            .bearer_auth(crate::helpers::OPERATOR_TOKEN)
            .json(&json!({"which": "api_secret", "old_valid_for_seconds": 0})),
    )
    .await;
    assert_eq!(status, 200);
    let rotated = audit(&app, &creds, "action=application.secret_rotated").await;
    assert_eq!(rotated[0]["actor"]["kind"], "operator");
    assert_eq!(rotated[0]["summary"], json!({"which": "api_secret"}));
}
