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

/// Both replicas run a dispatcher over the same deliveries: claims with `FOR UPDATE SKIP
/// LOCKED` give each delivery to one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_deliver_each_event_once_per_endpoint() {
    const SIGN_UPS: usize = 40;
    let url = empty_postgres().await.unwrap();
    let (first, second) = start_together(&url).await;
    let client = Client::new();
    let receivers = [
        crate::receiver::Receiver::start().await,
        crate::receiver::Receiver::start().await,
    ];
    let (_, created) = send(
        client
            .post(format!("{first}/api/operator/applications"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"name": "replicas", "device_authentication": false})),
    )
    .await;
    let admin_key = created["admin_api_key"].as_str().unwrap();
    for receiver in &receivers {
        let (status, body) = send(
            client
                .post(format!("{second}/api/admin/webhooks"))
                .bearer_auth(admin_key)
                .json(&json!({"url": receiver.url, "event_types": ["user.created"]})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }

    let sign_ups = (0..SIGN_UPS)
        .map(|i| {
            let base = if i % 2 == 0 { &first } else { &second };
            client
                .post(format!("{base}/api/integration/sign_up"))
                .header("x-api-key", created["api_key"].as_str().unwrap())
                .header("x-api-secret", created["api_secret"].as_str().unwrap())
                .json(&json!({"username": format!("replica_user_{i}"), "password": "secure_password123"}))
        })
        .collect();
    for (status, body) in all_at_once(sign_ups).await {
        assert_eq!(status, 200, "{body}");
    }
    for receiver in &receivers {
        let received = receiver.wait_for(SIGN_UPS).await;
        assert_eq!(receiver.unique_ids().len(), SIGN_UPS);
        // Both dispatchers are idle once every delivery is recorded; none came twice.
        let (_, listed) = send(
            client
                .get(format!("{first}/api/admin/webhooks"))
                .bearer_auth(admin_key),
        )
        .await;
        assert_eq!(listed["webhooks"].as_array().unwrap().len(), 2);
        assert_eq!(received.len(), SIGN_UPS, "each event once per endpoint");
    }
    // Late duplicates would come from a second claim: wait for every delivery to be recorded
    // as sent, then count again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, listed) = send(
            client
                .get(format!("{first}/api/admin/webhooks"))
                .bearer_auth(admin_key),
        )
        .await;
        let mut settled = true;
        for endpoint in listed["webhooks"].as_array().unwrap() {
            let (_, deliveries) = send(
                client
                    .get(format!(
                        "{second}/api/admin/webhooks/{}/deliveries?limit=200",
                        endpoint["id"].as_str().unwrap()
                    ))
                    .bearer_auth(admin_key),
            )
            .await;
            let deliveries = deliveries["deliveries"].as_array().unwrap();
            settled &= deliveries.len() == SIGN_UPS
                && deliveries.iter().all(|d| {
                    d["state"] == "succeeded" && d["attempts"].as_array().unwrap().len() == 1
                });
        }
        if settled {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries never settled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for receiver in &receivers {
        assert_eq!(receiver.received().len(), SIGN_UPS);
    }
}
