//! `/metrics` on its own address: the counters move with the traffic.

use crate::helpers::{Backend, TestApp, assert_error, send};
use serde_json::json;

/// The sum of every sample of `name` whose labels contain all of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_move_and_metrics_stay_off_the_api_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.metrics.bind = Some("127.0.0.1:0".into())
    })
    .await;
    let metrics_url = format!(
        "{}/metrics",
        app.metrics_address.clone().expect("a metrics address")
    );
    let scrape = || async {
        app.client
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = scrape().await;

    let creds = app.create_app(true).await;
    let body =
        json!({"username": "counted", "password": "secure_password123", "hardware_id": "hw"});
    assert_eq!(app.sign_up(&creds, body).await.0, 200);
    let code = app.mint(&creds, 1, None).await.remove(0);
    assert_eq!(
        app.license_sign_up(&creds, json!({"code": code, "hardware_id": "hw2"}))
            .await
            .0,
        200
    );
    let login = json!({"credentials": {"code": code}, "hardware_id": "hw2"});
    assert_eq!(
        send(
            app.integration(&creds, "/api/integration/auth/login")
                .json(&login)
        )
        .await
        .0,
        200
    );

    // Last: the refusal cross-bans this address.
    assert_eq!(app.ban(&creds, "hardware_id", "banned-hw").await.0, 201);
    let banned = json!({"username": "refused", "password": "secure_password123", "hardware_id": "banned-hw"});
    assert_error(&app.sign_up(&creds, banned).await, 403, "banned");
    let after = scrape().await;
    let moved =
        |name: &str, labels: &[&str]| value(&after, name, labels) - value(&before, name, labels);
    assert!(
        moved("latchkey_sign_ups_total", &["method=\"password\""]) >= 1.0,
        "{after}"
    );
    assert!(moved("latchkey_sign_ups_total", &["method=\"license_code\""]) >= 1.0);
    assert!(moved("latchkey_redemptions_total", &["via=\"sign_up\""]) >= 1.0);
    assert!(moved("latchkey_logins_total", &["outcome=\"success\""]) >= 1.0);
    assert!(moved("latchkey_ban_hits_total", &["type=\"hardware_id\""]) >= 1.0);
    assert!(
        moved(
            "latchkey_http_requests_total",
            &["route=\"/api/integration/sign_up\"", "status=\"200\""]
        ) >= 1.0
    );
    assert!(
        moved(
            "latchkey_http_request_duration_seconds_count",
            &["route=\"/api/integration/sign_up\""]
        ) >= 2.0
    );
    assert!(
        after.contains("latchkey_http_request_duration_seconds_bucket{"),
        "latency is a histogram"
    );
    assert!(moved("latchkey_hash_permit_wait_seconds_count", &[]) >= 1.0);
    assert!(after.contains("latchkey_hashes_in_flight"));
    assert!(after.contains("latchkey_db_pool_connections{state=\"idle\"}"));

    let on_api = send(app.client.get(app.url("/metrics"))).await;
    assert_error(&on_api, 404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_metrics_count_attempts_by_outcome_and_show_the_backlog() {
    use crate::receiver::{Receiver, Reply};
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.metrics.bind = Some("127.0.0.1:0".into())
    })
    .await;
    let metrics_url = format!("{}/metrics", app.metrics_address.clone().unwrap());
    let scrape = || async {
        app.client
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let receiver = Receiver::start().await;
    // The event fails, the test message succeeds, the event's retry never ends.
    receiver.script([Reply::Status(500), Reply::Status(200), Reply::Hang]);
    let creds = app.create_app(false).await;
    let (status, endpoint) = send(
        app.admin(&creds, reqwest::Method::POST, "/api/admin/webhooks")
            .json(&json!({"url": receiver.url, "event_types": ["user.created"]})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let before = scrape().await;
    let attempts = |text: &str, outcome: &str| {
        value(
            text,
            "latchkey_webhook_attempts_total",
            &[&format!("outcome=\"{outcome}\"")],
        )
    };

    let body = json!({"username": "metered", "password": "secure_password123"});
    assert_eq!(app.sign_up(&creds, body).await.0, 200);
    receiver.wait_for(1).await;
    let test = format!(
        "/api/admin/webhooks/{}/test",
        endpoint["id"].as_str().unwrap()
    );
    assert_eq!(
        send(app.admin(&creds, reqwest::Method::POST, &test))
            .await
            .0,
        202
    );
    receiver.wait_for(2).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let after = scrape().await;
        if attempts(&after, "succeeded") > attempts(&before, "succeeded") {
            break after;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt was counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        attempts(&after, "failed") - attempts(&before, "failed"),
        1.0
    );
    assert_eq!(
        attempts(&after, "succeeded") - attempts(&before, "succeeded"),
        1.0
    );
    assert_eq!(
        value(&after, "latchkey_webhook_deliveries_pending", &[]),
        1.0,
        "the failed event waits for its retry"
    );
    assert!(value(&after, "latchkey_webhook_oldest_pending_age_seconds", &[]) > 0.0);
}
