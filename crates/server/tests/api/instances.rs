//! Two server instances over one PostgreSQL database, as replicas behind a load balancer.

use crate::helpers::{OPERATOR_TOKEN, all_at_once, send, settings};
use adapters_postgres::testing::empty_postgres;
use reqwest::Client;
use serde_json::{Value, json};
use server::Server;
use std::sync::Arc;
use tokio::sync::Barrier;

async fn start_together(url: &str) -> (String, String) {
    let barrier = Arc::new(Barrier::new(2));
    let start = |barrier: Arc<Barrier>| {
        let settings = settings(url);
        async move {
            barrier.wait().await;
            Server::build(&settings).await
        }
    };
    let (first, second) = tokio::join!(start(barrier.clone()), start(barrier));
    let (first, second) = (
        first.expect("the first instance starts"),
        second.expect("the second instance starts"),
    );
    let addresses = (
        format!("http://127.0.0.1:{}", first.port()),
        format!("http://127.0.0.1:{}", second.port()),
    );
    tokio::spawn(first.run());
    tokio::spawn(second.run());
    addresses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_started_at_once_on_an_empty_database_both_migrate_and_redeem_a_code_once() {
    let url = empty_postgres().await.unwrap();
    let (first, second) = start_together(&url).await;
    let client = Client::new();
    for base in [&first, &second] {
        assert_eq!(send(client.get(format!("{base}/readyz"))).await.0, 200);
    }

    let created: Value = client
        .post(format!("{first}/api/operator/applications"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"name": "replicas", "device_authentication": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let minted = client
        .post(format!("{second}/api/admin/licenses"))
        .bearer_auth(created["admin_api_key"].as_str().unwrap())
        .json(&json!({"count": 1, "minutes": 60}));
    let (status, licenses) = send(minted).await;
    assert_eq!(status, 201);
    let code = licenses["licenses"][0]["code"].as_str().unwrap().to_owned();

    let redemptions = (0..32)
        .map(|i| {
            let base = if i % 2 == 0 { &first } else { &second };
            client
                .post(format!("{base}/api/integration/sign_up_with_license_code"))
                .header("x-api-key", created["api_key"].as_str().unwrap())
                .header("x-api-secret", created["api_secret"].as_str().unwrap())
                .json(&json!({"code": code}))
        })
        .collect();
    let statuses: Vec<u16> = all_at_once(redemptions)
        .await
        .into_iter()
        .map(|(status, _)| status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        31,
        "{statuses:?}"
    );
}
