//! Rate limits over HTTP: per client IP and application, in memory or shared through Redis.

use crate::helpers::{AppCredentials, Backend, TestApp, all_at_once, assert_error, send};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::settings::Settings;

fn limited(requests: u32, sign_ups: u32, failures: u32) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.limits.enabled = true;
        settings.limits.requests_per_second = requests;
        settings.limits.sign_ups_per_hour = sign_ups;
        settings.limits.failed_attempts_per_minute = failures;
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn sign_up(name: &str) -> Value {
    json!({"username": name, "password": "secure_password123"})
}

#[track_caller]
fn assert_limited(answer: &(StatusCode, Value)) {
    assert_error(answer, 429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_beyond_the_hourly_limit_get_429_even_with_a_spoofed_forwarded_header() {
    let app = TestApp::spawn_with(Backend::Sqlite, limited(1000, 2, 1000)).await;
    let (ours, theirs) = (app.create_app(false).await, app.create_app(false).await);
    assert_eq!(app.sign_up(&ours, sign_up("first")).await.0, 200);
    assert_eq!(app.sign_up(&ours, sign_up("second")).await.0, 200);
    let spoofed = app
        .integration(&ours, "/api/integration/sign_up")
        .header("x-forwarded-for", "203.0.113.99")
        .json(&sign_up("third"));
    let response = spoofed.send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3500..=3600).contains(&retry_after),
        "about an hour: {retry_after}"
    );
    let answer = (response.status(), response.json::<Value>().await.unwrap());
    assert_limited(&answer);
    assert_eq!(
        app.user(&ours, "third").await.0,
        404,
        "a limited sign-up writes nothing"
    );
    assert_eq!(
        app.sign_up(&theirs, sign_up("third")).await.0,
        200,
        "limits are per application"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_beyond_the_limit_block_even_the_right_password() {
    let app = TestApp::spawn_with(Backend::Sqlite, limited(1000, 1000, 3)).await;
    let creds = app.create_app(false).await;
    let code = app.mint(&creds, 1, None).await.remove(0);
    assert_eq!(app.sign_up(&creds, sign_up("target")).await.0, 200);
    let activate = json!({"code": code, "username": "target", "password": "secure_password123"});
    assert_eq!(
        send(
            app.integration(&creds, "/api/integration/activate_license")
                .json(&activate)
        )
        .await
        .0,
        200
    );
    let login = |password: &str| {
        let body = json!({"credentials": {"username": "target", "password": password}});
        send(
            app.integration(&creds, "/api/integration/auth/login")
                .json(&body),
        )
    };
    for _ in 0..3 {
        assert_error(&login("wrong_password").await, 401, "invalid_credentials");
    }
    assert_limited(&login("secure_password123").await);
    let guess = app
        .license_sign_up(&creds, json!({"code": "GUESS-1234"}))
        .await;
    assert_limited(&guess);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_per_second_limit_is_partly_refused() {
    let app = TestApp::spawn_with(Backend::Sqlite, limited(5, 1000, 1000)).await;
    let creds = app.create_app(false).await;
    let burst = (0..15)
        .map(|i| {
            app.integration(&creds, "/api/integration/sign_up_with_license_code")
                .json(&json!({"code": format!("NOPE{i}")}))
        })
        .collect();
    let statuses: Vec<u16> = all_at_once(burst)
        .await
        .into_iter()
        .map(|(status, _)| status.as_u16())
        .collect();
    // A burst spans at most two one-second windows: at most 2 × 5 get through.
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(refused >= 5, "{statuses:?}");
}

async fn spawn_on_redis() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |settings| {
        limited(1000, 2, 1000)(settings);
        settings.limits.redis_url = Some(redis_url());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_two_instances_share_their_counters() {
    let first = spawn_on_redis().await;
    let creds: AppCredentials = first.create_app(false).await;
    // A second instance over the same database file and the same Redis.
    let second = TestApp::spawn_with(Backend::Sqlite, |settings| {
        limited(1000, 2, 1000)(settings);
        settings.limits.redis_url = Some(redis_url());
        settings.database.url = first.db.url.clone();
    })
    .await;
    assert_eq!(first.sign_up(&creds, sign_up("on_first")).await.0, 200);
    assert_eq!(second.sign_up(&creds, sign_up("on_second")).await.0, 200);
    assert_limited(&first.sign_up(&creds, sign_up("third_try")).await);
    assert_limited(&second.sign_up(&creds, sign_up("fourth_try")).await);
}
