//! The memory and liveness promise under a password storm, measured on the release binary:
//! 500 concurrent password sign-ups against one `latchkey serve`.
//!
//! Prints the process's idle RSS (the baseline), its peak RSS during the storm, its RSS
//! 10 s after, and `/livez` latency at idle and during the storm, with their ratios.
//! Goals: peak ≤ 256 MiB, after ≤ 128 MiB. Run with `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

const SIGN_UPS: usize = 500;
const OPERATOR_TOKEN: &str = "bench-operator-token";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `VmRSS` or `VmHWM` (peak) of a process, in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn start(client: &reqwest::Client) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .current_dir(dir.path())
        .env("LATCHKEY__HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LATCHKEY__OPERATOR__TOKEN", OPERATOR_TOKEN)
        .env("LATCHKEY__HASHING__MAX_WAIT_MS", "600000")
        .env("LATCHKEY__LOG__LEVEL", "warn")
        .env("LATCHKEY__LIMITS__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        _dir: dir,
    }
}

/// `/livez` latencies in ms, probed back to back until `stop` is set (or `count` probes).
async fn probe_livez(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
    count: usize,
) -> Vec<f64> {
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) && latencies.len() < count {
        let started = Instant::now();
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let server = start(&client).await;
    let pid = server.child.id();
    let created: Value = client
        .post(format!("{}/api/operator/applications", server.base))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"name": "bench", "device_authentication": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (key, secret) = (
        created["api_key"].as_str().unwrap().to_owned(),
        created["api_secret"].as_str().unwrap().to_owned(),
    );

    let livez = format!("{}/livez", server.base);
    let idle_livez = probe_livez(
        client.clone(),
        livez.clone(),
        Arc::new(AtomicBool::new(false)),
        200,
    )
    .await;
    let idle_rss = memory_mib(pid, "VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe_livez(client.clone(), livez, stop.clone(), usize::MAX));
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
