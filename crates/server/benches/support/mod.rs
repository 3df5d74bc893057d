//! What both benchmarks need: a release `latchkey serve` in a child process, an application
//! on it, its memory, and `/livez` probes.
#![allow(dead_code)] // each bench uses its own part

use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const OPERATOR_TOKEN: &str = "bench-operator-token";

pub struct Server {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `VmRSS` or `VmHWM` (peak) of a process, in MiB.
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Starts `latchkey serve` on `database_url` (SQLite in a temporary directory when `None`).
pub async fn start(client: &reqwest::Client, database_url: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("LATCHKEY__HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LATCHKEY__OPERATOR__TOKEN", OPERATOR_TOKEN)
        .env("LATCHKEY__HASHING__MAX_WAIT_MS", "600000")
        .env("LATCHKEY__LOG__LEVEL", "warn")
        .env("LATCHKEY__LIMITS__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("LATCHKEY__DATABASE__URL", url);
    }
    let child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
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

pub struct App {
    pub key: String,
    pub secret: String,
    pub admin: String,
}

pub async fn create_app(client: &reqwest::Client, server: &Server) -> App {
    let response = client
        .post(format!("{}/api/operator/applications", server.base))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"name": "bench", "device_authentication": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "creating the application");
    let created: Value = response.json().await.unwrap();
    let field = |name: &str| created[name].as_str().unwrap().to_owned();
    App {
        key: field("api_key"),
        secret: field("api_secret"),
        admin: field("admin_api_key"),
    }
}

/// `/livez` latencies in ms, sorted: one probe every `every` until `stop` is set or `max`
/// probes were made.
pub async fn probe_livez(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
    every: Duration,
    max: usize,
) -> Vec<f64> {
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) && latencies.len() < max {
        let started = Instant::now();
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(every).await;
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}
