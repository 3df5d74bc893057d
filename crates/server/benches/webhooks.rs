//! What webhooks cost, on PostgreSQL, with the release binary: license sign-ups/s of an
//! application with one webhook endpoint subscribed to everything (`*`) ÷ the same of an
//! application with none; goal ≥ 0.8. The receiver is local and fast: an HTTP server in this
//! process that answers 200 (the tests' receiver).
//!
//! Both applications live on one server and one database, created with the defaults (device
//! authentication and cross-banning on, so a sign-up records three events: user.created,
//! license.redeemed and device.registered, each a delivery). The blocks alternate (none,
//! hooked, hooked, none, …). Deliveries are sent in the background; after each hooked block
//! the bench waits until the server's backlog (`latchkey_webhook_deliveries_pending`) is
//! empty, so that no block of either side runs with the other's deliveries still going. The
//! ratio counts that drain in the hooked side's time: it is the rate the server sustains with
//! every event delivered. The rate of the sign-ups alone is printed too. Every delivery is
//! counted at the receiver, and their signatures are checked on a sample. The goal is
//! reported, not asserted; every request must succeed. Run with `make bench`. Needs
//! PostgreSQL as the other benches do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

#[path = "../tests/support/receiver.rs"]
mod receiver;

use receiver::Receiver;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::abba::{ABBA, BLOCK, BLOCKS, CLIENTS, Side, verdict};
use support::{Postgres, Server, create_app_with, free_port, start_with};

const WEBHOOK_RATIO_GOAL: f64 = 0.8;

/// The server's pending deliveries, from its metrics.
async fn pending(client: &reqwest::Client, metrics: &str) -> f64 {
    let text = client
        .get(metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("latchkey_webhook_deliveries_pending "))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// Waits until every queued delivery was sent; how long that took.
async fn drain(client: &reqwest::Client, metrics: &str) -> Duration {
    let started = Instant::now();
    while pending(client, metrics).await > 0.0 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "deliveries never drained"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

async fn add_endpoint(client: &reqwest::Client, server: &Server, admin: &str, url: &str) -> String {
    let response = client
        .post(format!("{}/api/admin/webhooks", server.base))
        .bearer_auth(admin)
        .json(&json!({"url": url, "event_types": ["*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "adding the endpoint");
    let created: Value = response.json().await.unwrap();
    created["secret"].as_str().unwrap().to_owned()
}

#[tokio::main]
async fn main() {
    let postgres = Postgres::from_env();
    println!(
        "license sign-ups: {CLIENTS} concurrent clients, {BLOCKS} blocks of {BLOCK:?} per application, alternating; the hooked side's blocks each followed by the drain of its deliveries"
    );
    let client = reqwest::Client::new();
    let database = postgres.create(&format!("latchkey_bench_{}_webhooks", std::process::id()));
    let metrics_port = free_port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let server = Arc::new(
        start_with(
            &client,
            Some(&postgres.url(&database.name)),
            &[
                ("LATCHKEY__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
                ("LATCHKEY__METRICS__BIND", &metrics_bind),
            ],
        )
        .await,
    );
    let metrics = format!("http://{metrics_bind}/metrics");
    let receiver = Receiver::start().await;
    let none = create_app_with(&client, &server, &json!({"name": "no webhooks"})).await;
    let hooked = create_app_with(&client, &server, &json!({"name": "hooked"})).await;
    let secret = add_endpoint(&client, &server, &hooked.admin, &receiver.url).await;

    let mut sides = [
        Side::new("none", server.clone(), none),
        Side::new("hooked", server.clone(), hooked),
    ];
    for side in &sides {
        side.warm_up(&client).await;
    }
    drain(&client, &metrics).await;
    let warm_deliveries = receiver.received().len();
    let mut drained = Duration::ZERO;
    for block in 0..2 * BLOCKS {
        let side = ABBA[block % ABBA.len()];
        sides[side].block(&client, &postgres, block).await;
        if side == 1 {
            drained += drain(&client, &metrics).await;
        }
    }
    let [none, hooked] = sides;

    let received = receiver.received();
    let delivered = received.len() - warm_deliveries;
    for message in received.iter().step_by(97) {
        message.verify(&secret).expect("every delivery is signed");
    }
    let hooked_total = hooked.total();
    assert_eq!(
        delivered,
        3 * hooked_total.ok,
        "three events per sign-up, each delivered once"
    );

    println!();
    none.report("no webhook endpoint");
    hooked.report("one endpoint subscribed to everything");
    println!(
        "deliveries: {delivered} ({:.1}/s of sign-up time), drained {:.2} s after the blocks in all; server cpu per sign-up {:.3} ms hooked, {:.3} ms none",
        delivered as f64 / hooked_total.secs,
        drained.as_secs_f64(),
        hooked.server_ms(),
        none.server_ms()
    );
    let alone = hooked_total.rate() / none.total().rate();
    println!("ratio license_signups hooked/none, sign-up time only = {alone:.2} (no goal)");
    let sustained = hooked_total.ok as f64 / (hooked_total.secs + drained.as_secs_f64());
    let ratio = sustained / none.total().rate();
    println!(
        "ratio license_signups webhook_all/none, with every delivery sent = {ratio:.2} (goal >= {WEBHOOK_RATIO_GOAL}): {}",
        verdict(ratio >= WEBHOOK_RATIO_GOAL)
    );
}
