//! The database going away and coming back, on a PostgreSQL cluster of the test's own.

use crate::helpers::{OPERATOR_TOKEN, send, settings};
use adapters_postgres::testing::ThrowawayCluster;
use reqwest::Client;
use serde_json::{Value, json};
use server::Server;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgresql_is_down_requests_get_503_quickly_and_service_resumes_when_it_returns() {
    let cluster = ThrowawayCluster::start().expect("a throwaway PostgreSQL cluster");
    let mut settings = settings(&cluster.url());
    settings.database.acquire_timeout_ms = 1000;
    let server = Server::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run());
    // A hang is a failure: every answer must come within 3 s.
    let client = Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();

    let created: Value = client
        .post(format!("{base}/api/operator/applications"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"name": "faults", "device_authentication": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sign_up = |name: &str| {
        client
            .post(format!("{base}/api/integration/sign_up"))
            .header("x-api-key", created["api_key"].as_str().unwrap())
            .header("x-api-secret", created["api_secret"].as_str().unwrap())
            .json(&json!({"username": name, "password": "secure_password123"}))
    };
    assert_eq!(send(sign_up("before")).await.0, 200);

    cluster.stop().unwrap();
    for name in ["during_one", "during_two"] {
        let response = sign_up(name).send().await.expect("an answer within 3 s");
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "service_unavailable");
    }
    let admin = client
        .get(format!("{base}/api/admin/bans"))
        .bearer_auth(created["admin_api_key"].as_str().unwrap());
    assert_eq!(send(admin).await.0, 503);
    assert_eq!(
        send(client.get(format!("{base}/livez"))).await.0,
        200,
        "liveness never touches the database"
    );
    assert_eq!(send(client.get(format!("{base}/readyz"))).await.0, 503);

    cluster.start_again().unwrap();
    assert_eq!(
        send(client.get(format!("{base}/readyz"))).await.0,
        200,
        "ready again without a restart"
    );
    assert_eq!(send(sign_up("after")).await.0, 200);
    for (name, exists) in [
        ("before", 200),
        ("during_one", 404),
        ("during_two", 404),
        ("after", 200),
    ] {
        let lookup = client
            .get(format!("{base}/api/admin/user/{name}"))
            .bearer_auth(created["admin_api_key"].as_str().unwrap());
        assert_eq!(send(lookup).await.0, exists, "{name}: no partial rows");
    }
}
