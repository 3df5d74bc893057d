//! What the SDKs cost: verified sign-ins/s through the Rust SDK (`latchkey-client`) and
//! through the Python SDK (`sdks/python`), each ÷ raw HTTP sign-ins measured in the same run.
//! No goal.
//!
//! One release `latchkey serve` on SQLite (limits off), one application with device
//! authentication off and response signing on (the default). Each side has [`CLIENTS`]
//! closed-loop clients, each with a fixed hardware id and [`USERS_PER_CLIENT`] license users
//! of its own, signed up from that device before anything is measured. A client signs its
//! users in one after the other, each sign-in sent as soon as the last is answered. Signing in
//! again from the same device replaces the user's session, so every sign-in succeeds with the
//! default limit of one session; the many users keep each user's sessions few, because a
//! sign-in's session queries read every session its user made in the session lifetime
//! (revoked ones stay), which with one user per client made each block slower than the last.
//! The three sides:
//!
//! 1. **raw HTTP**: `POST /api/integration/auth/login` with reqwest from this process, one
//!    `reqwest::Client` per client; the status is checked and the token read from the JSON,
//!    nothing verified, no nonce sent;
//! 2. **Rust SDK**: one `latchkey_client::Client` per client, its user's hardware id and the
//!    application's response-signing public key pinned, `login(Credentials::license_code)`:
//!    a fresh nonce per request, every answer verified before it is read; tasks on this
//!    process's tokio runtime, as the raw side's;
//! 3. **Python SDK**: one Python process (`scripts/bench-sdk-python.py`, the venv that
//!    `scripts/sdk-python.sh` makes, the tree's SDK on `PYTHONPATH`) with one thread and one
//!    `latchkey.Client` per client, the key pinned, `login(code=...)`; verified likewise.
//!
//! The sides run in blocks of [`BLOCK`], [`ROUNDS`] times in the order raw, Rust, Python,
//! Python, Rust, raw, so that each side's blocks sit at the same mean time and a linear drift
//! of the shared machine's speed favours none. CPU per sign-in is read from `/proc` for the
//! server, the client process (this one for raw and Rust, the Python process for Python)
//! and the rest of the machine. Then, where a sign-in's time goes: the verification alone of
//! one real answer (both SDKs, no HTTP), and the Python side on one thread through the SDK
//! and through httpx alone. Before the blocks, both SDKs must refuse an answer with another
//! key pinned. Every sign-in must succeed (asserted). Run with `make bench`; needs the venv:
//! `scripts/sdk-python.sh` makes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use latchkey_client::signing::{ReceivedResponse, ResponseVerifier, SentRequest, new_nonce};
use latchkey_client::{Client, Credentials, Error};
use serde_json::{Value, json};
use std::hint::black_box;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{Cpu, OPERATOR_TOKEN, Server, cpu_secs, mint, percentile, start};

/// Closed-loop clients on each side.
const CLIENTS: usize = 4;
/// License users of each client, all signed up from its device.
const USERS_PER_CLIENT: usize = 50;
const BLOCK: Duration = Duration::from_secs(2);
/// Rounds of raw, Rust, Python, Python, Rust, raw: 2 × `ROUNDS` blocks per side.
const ROUNDS: usize = 3;
const ORDER: [usize; 6] = [0, 1, 2, 2, 1, 0];
const WARM_UP: Duration = Duration::from_secs(1);
/// The Python side's single-thread sign-ins, each way, in the breakdown.
const PARTS: Duration = Duration::from_secs(2);
/// Verifications per run of [`verify_alone`], and its runs.
const VERIFICATIONS: usize = 2000;
const VERIFY_RUNS: usize = 5;
const LOGIN_PATH: &str = "/api/integration/auth/login";
const LABELS: [&str; 3] = ["raw HTTP (reqwest)", "Rust SDK", "Python SDK"];

/// The application, with what a verifying client pins.
struct App {
    key: String,
    secret: String,
    public_key: String,
}

/// One client's device and the codes of the license users signed up from it.
#[derive(Clone)]
struct Device {
    hardware_id: String,
    codes: Vec<String>,
}

impl Device {
    /// The code of the client's `n`th sign-in: its users in turn.
    fn code(&self, n: usize) -> &str {
        &self.codes[n % self.codes.len()]
    }
}

async fn create_app(client: &reqwest::Client, server: &Server) -> (App, String) {
    let response = client
        .post(format!("{}/api/operator/applications", server.base))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"name": "sdk bench", "device_authentication": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "creating the application");
    let created: Value = response.json().await.unwrap();
    let field = |name: &str| created[name].as_str().unwrap().to_owned();
    let app = App {
        key: field("api_key"),
        secret: field("api_secret"),
        public_key: field("response_signing_public_key"),
    };
    (app, field("admin_api_key"))
}

/// One side's [`CLIENTS`] devices `sdk-<side>-<n>`, each with [`USERS_PER_CLIENT`] license
/// users signed up from it, from `codes`.
async fn sign_up(
    client: &reqwest::Client,
    server: &Server,
    app: &App,
    codes: &mut Vec<String>,
    side: &str,
) -> Vec<Device> {
    let mut devices = Vec::new();
    for n in 0..CLIENTS {
        let device = Device {
            hardware_id: format!("sdk-{side}-{n}"),
            codes: codes.split_off(codes.len() - USERS_PER_CLIENT),
        };
        for code in &device.codes {
            let response = client
                .post(format!(
                    "{}/api/integration/sign_up_with_license_code",
                    server.base
                ))
                .header("x-api-key", &app.key)
                .header("x-api-secret", &app.secret)
                .json(&json!({"code": code, "hardware_id": device.hardware_id}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "a license sign-up");
        }
        devices.push(device);
    }
    devices
}

fn unix_now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

// --- the Python side -------------------------------------------------------------------

/// The venv's python, or a message saying how to make it.
fn venv_python(root: &Path) -> Result<PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let target = if target.is_absolute() {
        target
    } else {
        root.join(target)
    };
    let python = target.join("sdk-python-venv/bin/python");
    if python.exists() {
        Ok(python)
    } else {
        Err(format!(
            "the Python SDK's venv is missing ({}): make it with `scripts/sdk-python.sh` \
             (which also runs the SDK's tests), then run this bench again",
            python.display()
        ))
    }
}

/// The driver process, killed with it.
struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Python {
    /// Starts the driver with the tree's SDK and waits until each client signed in once.
    fn start(root: &Path, python: &Path, base: &str, app: &App, devices: &[Device]) -> Self {
        let mut child = Command::new(python)
            .arg(root.join("scripts/bench-sdk-python.py"))
            .env("PYTHONPATH", root.join("sdks/python/src"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut driver = Self {
            child,
            stdin,
            stdout,
        };
        let clients: Vec<Value> = devices
            .iter()
            .map(|device| json!({"hardware_id": device.hardware_id, "codes": device.codes}))
            .collect();
        let config = json!({
            "base": base, "api_key": app.key, "api_secret": app.secret,
            "public_key": app.public_key, "clients": clients,
        });
        writeln!(driver.stdin, "{config}").unwrap();
        assert_eq!(driver.line(), "ready", "the Python driver started");
        driver
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(
            !line.is_empty(),
            "the Python driver ended (its error is above)"
        );
        line.trim().to_owned()
    }

    /// One command; its JSON answer.
    fn ask(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        let line = self.line();
        serde_json::from_str(&line).unwrap()
    }
}

// --- the blocks --------------------------------------------------------------------------

/// One side's blocks and what they cost, in seconds of CPU.
#[derive(Default)]
struct Tally {
    ok: usize,
    failed: usize,
    secs: f64,
    blocks: Vec<f64>,
    client: f64,
    server: f64,
    machine: f64,
}

impl Tally {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    fn ms(&self, seconds: f64) -> f64 {
        seconds * 1000.0 / self.ok.max(1) as f64
    }

    fn report(&self, label: &str) {
        let blocks: Vec<String> = self.blocks.iter().map(|r| format!("{r:.1}")).collect();
        println!(
            "verified sign-ins, {label}: {} in {:.1} s: {:.1}/s, {} failed (blocks: {}/s)",
            self.ok,
            self.secs,
            self.rate(),
            self.failed,
            blocks.join(", ")
        );
        println!(
            "  cpu per sign-in: client process {:.3} ms, server {:.3} ms, other {:.3} ms; machine busy {:.2} of {} cores",
            self.ms(self.client),
            self.ms(self.server),
            self.ms(self.machine - self.client - self.server),
            self.machine / self.secs,
            std::thread::available_parallelism().map_or(1, usize::from),
        );
    }
}

/// `duration` of raw sign-ins, one task and one `reqwest::Client` per device; (ok, failed).
async fn raw_block(
    clients: &[(reqwest::Client, Device)],
    base: &str,
    app: &App,
    duration: Duration,
) -> (usize, usize) {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = clients
        .iter()
        .map(|(http, device)| {
            let (http, device) = (http.clone(), device.clone());
            let url = format!("{base}{LOGIN_PATH}");
            let (key, secret) = (app.key.clone(), app.secret.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, 0);
                while Instant::now() < deadline {
                    let body = json!({
                        "credentials": {"code": device.code(ok + failed)},
                        "hardware_id": device.hardware_id,
                    });
                    let response = http
                        .post(&url)
                        .header("x-api-key", &key)
                        .header("x-api-secret", &secret)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    let answer: Value = response.json().await.unwrap();
                    if status == 200 && answer["session_token"].is_string() {
                        ok += 1;
                    } else {
                        if failed == 0 {
                            eprintln!("a raw sign-in was answered {status}: {answer}");
                        }
                        failed += 1;
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let mut total = (0, 0);
    for task in tasks {
        let (ok, failed) = task.await.unwrap();
        total = (total.0 + ok, total.1 + failed);
    }
    total
}

/// `duration` of verified sign-ins through the Rust SDK, one task and one SDK client per
/// device; (ok, failed).
async fn rust_block(clients: &[(Client, Device)], duration: Duration) -> (usize, usize) {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = clients
        .iter()
        .map(|(client, device)| {
            let (client, device) = (client.clone(), device.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, 0);
                while Instant::now() < deadline {
                    let code = device.code(ok + failed);
                    match client.login(Credentials::license_code(code)).await {
                        Ok(_) => ok += 1,
                        Err(error) => {
                            if failed == 0 {
                                eprintln!("a Rust SDK sign-in failed: {error}");
                            }
                            failed += 1;
                        }
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let mut total = (0, 0);
    for task in tasks {
        let (ok, failed) = task.await.unwrap();
        total = (total.0 + ok, total.1 + failed);
    }
    total
}

fn python_block(python: &mut Python, duration: Duration) -> (usize, usize) {
    let run =
        tokio::task::block_in_place(|| python.ask(&format!("run {}", duration.as_secs_f64())));
    if let Some(error) = run["error"].as_str() {
        eprintln!("a Python SDK sign-in failed: {error}");
    }
    let count = |name: &str| usize::try_from(run[name].as_u64().unwrap()).unwrap();
    (count("ok"), count("failed"))
}

struct Sides {
    base: String,
    app: App,
    raw: Vec<(reqwest::Client, Device)>,
    rust: Vec<(Client, Device)>,
    python: Python,
    server_pid: u32,
}

impl Sides {
    async fn block(&mut self, side: usize, duration: Duration) -> (usize, usize) {
        match side {
            0 => raw_block(&self.raw, &self.base, &self.app, duration).await,
            1 => rust_block(&self.rust, duration).await,
            _ => python_block(&mut self.python, duration),
        }
    }

    /// One measured block of `side`, added to its tally.
    async fn measure(&mut self, side: usize, tally: &mut Tally) {
        let client_pid = if side == 2 {
            self.python.pid()
        } else {
            "self".to_owned()
        };
        let (cpu, client) = (Cpu::now(self.server_pid), cpu_secs(&client_pid));
        let started = Instant::now();
        let (ok, failed) = self.block(side, BLOCK).await;
        let secs = started.elapsed().as_secs_f64();
        let spent = Cpu::now(self.server_pid).since(cpu);
        tally.client += cpu_secs(&client_pid) - client;
        tally.server += spent.server;
        tally.machine += spent.machine;
        tally.ok += ok;
        tally.failed += failed;
        tally.secs += secs;
        tally.blocks.push(ok as f64 / secs);
    }
}

// --- where the time goes ---------------------------------------------------------------

/// The Rust SDK's verification of one real sign-in answer (with a nonce), alone: µs per
/// answer on one thread, the median of [`VERIFY_RUNS`] runs of [`VERIFICATIONS`].
async fn verify_alone(base: &str, app: &App, device: &Device) -> f64 {
    let nonce = new_nonce();
    let response = reqwest::Client::new()
        .post(format!("{base}{LOGIN_PATH}"))
        .header("x-api-key", &app.key)
        .header("x-api-secret", &app.secret)
        .header("latchkey-nonce", &nonce)
        .json(&json!({"credentials": {"code": device.code(0)}, "hardware_id": device.hardware_id}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap());
    let verifier = ResponseVerifier::new(&app.public_key).unwrap();
    let sent = SentRequest {
        method: "POST",
        path: LOGIN_PATH,
        nonce: Some(&nonce),
        signature: None,
    };
    let received = ReceivedResponse {
        status,
        content_digest: header("content-digest"),
        signature_input: header("signature-input"),
        signature: header("signature"),
        body: &body,
    };
    let now = unix_now();
    verifier.verify(&sent, &received, now).unwrap();
    let mut runs: Vec<f64> = (0..VERIFY_RUNS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..VERIFICATIONS {
                black_box(verifier.verify(black_box(&sent), black_box(&received), now)).unwrap();
            }
            started.elapsed().as_secs_f64() * 1e6 / VERIFICATIONS as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    percentile(&runs, 0.5)
}

/// A Rust client with another key pinned must refuse the answer.
async fn rust_refuses_another_key(base: &str, app: &App, device: &Device) {
    // docs/signing.md's example key: a valid Ed25519 key, not this application's.
    let other = "yOwq5LOFc4lOmguxfIpgbUIn43+ZUFrgHH2YIuGcmjw=";
    assert_ne!(other, app.public_key);
    let client = Client::builder(base, &app.key, &app.secret)
        .response_signing_public_key(other)
        .hardware_id(&device.hardware_id)
        .build()
        .unwrap();
    let result = client
        .login(Credentials::license_code(device.code(0)))
        .await;
    assert!(
        matches!(result, Err(Error::Signature(_))),
        "the Rust SDK refuses an answer signed by another key: {result:?}"
    );
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python_bin = match venv_python(&root) {
        Ok(python) => python,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    };
    println!(
        "verified sign-ins: {CLIENTS} closed-loop clients per side (raw and Rust: tasks in this process; Python: one process, a thread each), each signing in its {USERS_PER_CLIENT} users in turn from one device; {} blocks of {BLOCK:?} per side, alternating",
        2 * ROUNDS
    );

    let http = reqwest::Client::new();
    let server = start(&http, None).await;
    let (app, admin) = create_app(&http, &server).await;
    let mut codes = mint(
        &http,
        &server,
        &support::App {
            id: String::new(),
            key: app.key.clone(),
            secret: app.secret.clone(),
            admin,
            sends_nonce: false,
        },
        3 * CLIENTS * USERS_PER_CLIENT,
    )
    .await;
    let raw: Vec<(reqwest::Client, Device)> = sign_up(&http, &server, &app, &mut codes, "raw")
        .await
        .into_iter()
        .map(|device| (reqwest::Client::new(), device))
        .collect();
    let rust: Vec<(Client, Device)> = sign_up(&http, &server, &app, &mut codes, "rust")
        .await
        .into_iter()
        .map(|device| {
            let client = Client::builder(&server.base, &app.key, &app.secret)
                .response_signing_public_key(&app.public_key)
                .hardware_id(&device.hardware_id)
                .build()
                .unwrap();
            (client, device)
        })
        .collect();
    let python_devices = sign_up(&http, &server, &app, &mut codes, "python").await;
    let mut python = tokio::task::block_in_place(|| {
        Python::start(&root, &python_bin, &server.base, &app, &python_devices)
    });

    rust_refuses_another_key(&server.base, &app, &rust[0].1).await;
    let check = tokio::task::block_in_place(|| python.ask("check"));
    assert_eq!(
        check["refused"], true,
        "the Python SDK refuses an answer signed by another key"
    );

    let mut sides = Sides {
        base: server.base.clone(),
        app,
        raw,
        rust,
        python,
        server_pid: server.pid(),
    };
    for (side, label) in LABELS.iter().enumerate() {
        let (_, failed) = sides.block(side, WARM_UP).await;
        assert_eq!(failed, 0, "every warm-up sign-in succeeds ({label})");
    }
    let mut tallies: [Tally; 3] = Default::default();
    for _ in 0..ROUNDS {
        for side in ORDER {
            sides.measure(side, &mut tallies[side]).await;
        }
    }

    let rust_verify_us = verify_alone(&sides.base, &sides.app, &sides.raw[0].1).await;
    let parts =
        tokio::task::block_in_place(|| sides.python.ask(&format!("parts {}", PARTS.as_secs_f64())));
    tokio::task::block_in_place(|| writeln!(sides.python.stdin, "quit").unwrap());

    println!();
    for (tally, label) in tallies.iter().zip(LABELS) {
        tally.report(label);
    }
    let number = |value: &Value| value.as_f64().unwrap();
    println!(
        "verifying one answer, alone (one thread, no HTTP): Rust SDK {:.1} µs (median of {VERIFY_RUNS} runs of {VERIFICATIONS}); Python SDK {:.1} µs, of which Ed25519 {:.1} µs, content-digest (SHA-256, base64) of the {}-byte body {:.1} µs; a Python nonce {:.1} µs (best of 5 runs of 2000)",
        rust_verify_us,
        number(&parts["verify_us"]),
        number(&parts["ed25519_us"]),
        parts["body_len"],
        number(&parts["digest_us"]),
        number(&parts["nonce_us"]),
    );
    println!(
        "Python, one thread, one client, sequential for {PARTS:?} each: SDK {:.1}/s, {:.3} ms cpu per sign-in; httpx alone (no nonce, no verification) {:.1}/s, {:.3} ms cpu per sign-in",
        number(&parts["sdk"]["rate"]),
        number(&parts["sdk"]["cpu_ms"]),
        number(&parts["httpx"]["rate"]),
        number(&parts["httpx"]["cpu_ms"]),
    );
    for (tally, label) in tallies.iter().zip(LABELS) {
        assert_eq!(tally.failed, 0, "every sign-in succeeds ({label})");
    }
    let [raw, rust, python] = &tallies;
    println!(
        "ratio verified_signins rust_sdk/raw = {:.2} (no goal)",
        rust.rate() / raw.rate()
    );
    println!(
        "ratio verified_signins python_sdk/raw = {:.2} (no goal)",
        python.rate() / raw.rate()
    );
}
