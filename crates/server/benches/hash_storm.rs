//! The memory and liveness promise under a password storm, measured on the release binary:
//! 500 concurrent password sign-ups against one `latchkey serve`.
//!
//! Prints the process's idle RSS (the baseline), its peak RSS during the storm, its RSS
//! 10 s after, and `/livez` latency at idle and during the storm, with their ratios.
//! Goals: peak ≤ 256 MiB, after ≤ 128 MiB. Run with `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{create_app, memory_mib, percentile, probe_livez, start};
use tokio::sync::Barrier;

const SIGN_UPS: usize = 500;
/// `/livez` is probed back to back, but for this pause.
const PROBE_EVERY: Duration = Duration::from_millis(5);

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let server = start(&client, None).await;
    let pid = server.pid();
    let app = create_app(&client, &server).await;
    let (key, secret) = (app.key, app.secret);

    let livez = format!("{}/livez", server.base);
    let idle_livez = probe_livez(
        client.clone(),
        livez.clone(),
        Arc::new(AtomicBool::new(false)),
        PROBE_EVERY,
        200,
    )
    .await;
    let idle_rss = memory_mib(pid, "VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe_livez(
        client.clone(),
        livez,
        stop.clone(),
        PROBE_EVERY,
        usize::MAX,
    ));
    let barrier = Arc::new(Barrier::new(SIGN_UPS));
    let started = Instant::now();
    let storm: Vec<_> = (0..SIGN_UPS)
        .map(|i| {
            let (client, barrier) = (client.clone(), barrier.clone());
            let (url, key, secret) = (format!("{}/api/integration/sign_up", server.base), key.clone(), secret.clone());
            tokio::spawn(async move {
                let request = client
                    .post(url)
                    .header("x-api-key", key)
                    .header("x-api-secret", secret)
                    .json(&json!({"username": format!("storm_{i}"), "password": "correct-horse-battery"}));
                barrier.wait().await;
                request.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
            })
        })
        .collect();
    let mut ok = 0;
    for task in storm {
        ok += usize::from(task.await.unwrap() == 200);
    }
    let storm_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let storm_livez = prober.await.unwrap();
    let peak_rss = memory_mib(pid, "VmHWM:");
    tokio::time::sleep(Duration::from_secs(10)).await; // the promise is about RSS 10 s later
    let after_rss = memory_mib(pid, "VmRSS:");

    println!(
        "password storm: {SIGN_UPS} concurrent sign-ups, {ok} succeeded in {storm_secs:.1} s ({:.0}/s)",
        ok as f64 / storm_secs
    );
    println!("rss idle (baseline): {idle_rss:.1} MiB");
    println!(
        "rss peak during storm: {peak_rss:.1} MiB (goal <= 256), {:.2}x idle",
        peak_rss / idle_rss
    );
    println!(
        "rss 10 s after storm: {after_rss:.1} MiB (goal <= 128), {:.2}x idle",
        after_rss / idle_rss
    );
    let (idle_p99, storm_p99) = (
        percentile(&idle_livez, 0.99),
        percentile(&storm_livez, 0.99),
    );
    println!(
        "/livez idle p50 {:.2} ms p99 {idle_p99:.2} ms",
        percentile(&idle_livez, 0.5)
    );
    println!(
        "/livez during storm p50 {:.2} ms p99 {storm_p99:.2} ms max {:.2} ms over {} probes ({:.1}x idle p99)",
        percentile(&storm_livez, 0.5),
        storm_livez.last().copied().unwrap_or_default(),
        storm_livez.len(),
        storm_p99 / idle_p99
    );
    assert_eq!(ok, SIGN_UPS, "every sign-up succeeds when none is shed");
    assert!(
        peak_rss <= 256.0 && after_rss <= 128.0,
        "memory goals missed"
    );
}
