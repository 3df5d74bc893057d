//! What the benchmarks share: a release `latchkey serve` in a child process, an application
//! on it, its memory, `/livez` probes, closed-loop sign-up load, and bench databases on
//! PostgreSQL.
#![allow(dead_code)] // each bench uses its own part

pub mod abba;
pub mod grow;

use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const OPERATOR_TOKEN: &str = "bench-operator-token";
/// A fixed master key (standard base64 of 32 bytes of 0x2a), so that the servers neither
/// warn that none is configured nor write one under their working directory.
pub const MASTER_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

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
    start_with(client, database_url, &[]).await
}

/// [`start`], with more `LATCHKEY__…` settings in `env`.
pub async fn start_with(
    client: &reqwest::Client,
    database_url: Option<&str>,
    env: &[(&str, &str)],
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("LATCHKEY__HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LATCHKEY__OPERATOR__TOKEN", OPERATOR_TOKEN)
        .env("LATCHKEY__SECRETS__MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY__HASHING__MAX_WAIT_MS", "600000")
        .env("LATCHKEY__LOG__LEVEL", "warn")
        .env("LATCHKEY__LIMITS__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("LATCHKEY__DATABASE__URL", url);
    }
    command.envs(env.iter().copied());
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
    pub id: String,
    pub key: String,
    pub secret: String,
    pub admin: String,
    /// Whether its sign-ups send a fresh `Latchkey-Nonce`, as a client that verifies signed
    /// answers does (off unless a bench turns it on).
    pub sends_nonce: bool,
}

/// An application without device authentication, so that sign-ups need no hardware id.
pub async fn create_app(client: &reqwest::Client, server: &Server) -> App {
    create_app_with(
        client,
        server,
        &json!({"name": "bench", "device_authentication": false}),
    )
    .await
}

/// An application created through the operator API with this request body.
pub async fn create_app_with(client: &reqwest::Client, server: &Server, body: &Value) -> App {
    let response = client
        .post(format!("{}/api/operator/applications", server.base))
        .bearer_auth(OPERATOR_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "creating the application");
    let created: Value = response.json().await.unwrap();
    let field = |name: &str| created[name].as_str().unwrap().to_owned();
    App {
        id: field("id"),
        key: field("api_key"),
        secret: field("api_secret"),
        admin: field("admin_api_key"),
        sends_nonce: false,
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

// --- load ------------------------------------------------------------------------------

/// Mints `count` lifetime license codes through the admin API, 1000 per call.
pub async fn mint(
    client: &reqwest::Client,
    server: &Server,
    app: &App,
    count: usize,
) -> Vec<String> {
    let mut codes = Vec::with_capacity(count);
    while codes.len() < count {
        let batch = (count - codes.len()).min(1000);
        let response = client
            .post(format!("{}/api/admin/licenses", server.base))
            .bearer_auth(&app.admin)
            .json(&json!({"count": batch}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "minting licenses");
        let body: Value = response.json().await.unwrap();
        codes.extend(
            body["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|license| license["code"].as_str().unwrap().to_owned()),
        );
    }
    codes
}

/// What a closed-loop run did: successes, failures, the wall time and each successful
/// request's latency in ms.
#[derive(Default)]
pub struct Run {
    pub ok: usize,
    pub failed: usize,
    pub secs: f64,
    pub latencies: Vec<f64>,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    pub fn add(&mut self, other: &Self) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.secs += other.secs;
        self.latencies.extend_from_slice(&other.latencies);
    }

    /// `p50 … ms p99 … ms` of the successful requests.
    pub fn latency(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        format!(
            "p50 {:.2} ms p99 {:.2} ms",
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        )
    }
}

/// The kinds of sign-up the load generator sends.
#[derive(Clone)]
pub enum Kind {
    /// Distinct usernames with this prefix.
    Password(String),
    /// Codes taken from this shared stack; a client stops when it is empty.
    License(Arc<Mutex<Vec<String>>>),
    /// Likewise, each from a new device: distinct hardware ids with this prefix.
    LicenseOnDevice(Arc<Mutex<Vec<String>>>, String),
}

fn next_code(codes: &Mutex<Vec<String>>) -> Option<String> {
    codes.lock().unwrap().pop()
}

/// One sign-up's request, with a fresh `Latchkey-Nonce` when the application's clients send
/// one; `None` when there is no code left.
pub fn sign_up_request(
    client: &reqwest::Client,
    server: &Server,
    app: &App,
    kind: &Kind,
    n: usize,
) -> Option<reqwest::RequestBuilder> {
    let (path, body) = match kind {
        Kind::Password(prefix) => (
            "sign_up",
            json!({"username": format!("{prefix}{n}"), "password": "correct-horse-battery"}),
        ),
        Kind::License(codes) => (
            "sign_up_with_license_code",
            json!({"code": next_code(codes)?}),
        ),
        Kind::LicenseOnDevice(codes, prefix) => (
            "sign_up_with_license_code",
            json!({"code": next_code(codes)?, "hardware_id": format!("{prefix}{n}")}),
        ),
    };
    let mut request = client
        .post(format!("{}/api/integration/{path}", server.base))
        .header("x-api-key", &app.key)
        .header("x-api-secret", &app.secret)
        .json(&body);
    if app.sends_nonce {
        // A random UUID's 32 hex digits: 122 random bits, fresh for every request.
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        request = request.header("latchkey-nonce", nonce);
    }
    Some(request)
}

/// One sign-up; its HTTP status (0 when the request failed or there was no code left).
pub async fn sign_up(
    client: &reqwest::Client,
    server: &Server,
    app: &App,
    kind: &Kind,
    n: usize,
) -> Option<u16> {
    let request = sign_up_request(client, server, app, kind, n)?;
    let status = request
        .send()
        .await
        .map(|response| response.status().as_u16())
        .unwrap_or(0);
    Some(status)
}

/// `clients` concurrent clients, each sending its next sign-up as soon as the last one is
/// answered, for `duration` (or until the codes run out).
pub async fn closed_loop(
    client: &reqwest::Client,
    server: &Arc<Server>,
    app: &Arc<App>,
    kind: Kind,
    clients: usize,
    duration: Duration,
) -> Run {
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, server, app, kind, counter) = (
                client.clone(),
                server.clone(),
                app.clone(),
                kind.clone(),
                counter.clone(),
            );
            tokio::spawn(async move {
                let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let sent = Instant::now();
                    match sign_up(&client, &server, &app, &kind, n).await {
                        Some(200) => {
                            ok += 1;
                            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        Some(status) => {
                            if failed == 0 {
                                eprintln!("a sign-up was answered {status}");
                            }
                            failed += 1;
                        }
                        None => break,
                    }
                }
                (ok, failed, latencies)
            })
        })
        .collect();
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for task in tasks {
        let (task_ok, task_failed, task_latencies) = task.await.unwrap();
        ok += task_ok;
        failed += task_failed;
        latencies.extend(task_latencies);
    }
    Run {
        ok,
        failed,
        secs: started.elapsed().as_secs_f64(),
        latencies,
    }
}

// --- CPU -------------------------------------------------------------------------------

/// CPU seconds (user + system) of a process, from `/proc/<pid>/stat` (`self` for this one).
pub fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name: state is 0, utime 11, stime 12.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Where the CPU went, in seconds: the server, this process (the load generator), every
/// `postgres` process, and the whole machine (busy time of all cores, whoever used it).
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub server: f64,
    pub bench: f64,
    pub postgres: f64,
    pub machine: f64,
}

impl Cpu {
    pub fn now(server: u32) -> Self {
        let postgres = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "postgres")
            })
            .map(|pid| cpu_secs(&pid))
            .sum();
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let jiffies: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
        let busy: f64 = jiffies
            .iter()
            .take(8)
            .enumerate()
            .filter(|(i, _)| *i != 3 && *i != 4)
            .map(|(_, j)| j)
            .sum();
        Self {
            server: cpu_secs(&server.to_string()),
            bench: cpu_secs("self"),
            postgres,
            machine: busy / 100.0,
        }
    }

    /// What was spent since `before`.
    pub fn since(self, before: Self) -> Self {
        Self {
            server: self.server - before.server,
            bench: self.bench - before.bench,
            postgres: self.postgres - before.postgres,
            machine: self.machine - before.machine,
        }
    }

    pub fn add(&mut self, other: Self) {
        self.server += other.server;
        self.bench += other.bench;
        self.postgres += other.postgres;
        self.machine += other.machine;
    }

    /// This much CPU spent on `requests` requests over `secs` seconds, per request.
    pub fn per_request(self, requests: usize, secs: f64) -> String {
        let ms = |seconds: f64| seconds * 1000.0 / requests.max(1) as f64;
        let other = self.machine - self.server - self.bench - self.postgres;
        format!(
            "cpu per request: server {:.2} ms, postgres {:.2} ms, load generator {:.2} ms, other {:.2} ms; machine busy {:.2} of {} cores",
            ms(self.server),
            ms(self.postgres),
            ms(self.bench),
            ms(other),
            self.machine / secs,
            std::thread::available_parallelism().map_or(1, usize::from),
        )
    }
}

// --- PostgreSQL --------------------------------------------------------------------------

/// Where the bench databases live.
pub struct Postgres {
    host: String,
    port: String,
    user: String,
}

impl Postgres {
    /// `BENCH_PGHOST` (default 127.0.0.1: over TCP, as a server and its database on two hosts
    /// talk, and as the limit it is compared with, pgbench, is measured), `BENCH_PGPORT`,
    /// `BENCH_PGUSER`.
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_owned());
        Self {
            host: var("BENCH_PGHOST", "127.0.0.1"),
            port: var("BENCH_PGPORT", "5432"),
            user: var("BENCH_PGUSER", "postgres"),
        }
    }

    /// The server's URL for `database`; a host that is a directory is a Unix socket's.
    pub fn url(&self, database: &str) -> String {
        let (user, port) = (&self.user, &self.port);
        if self.host.starts_with('/') {
            format!(
                "postgres://{user}@localhost:{port}/{database}?host={}",
                self.host
            )
        } else {
            format!("postgres://{user}@{}:{port}/{database}", self.host)
        }
    }

    /// A client program of PostgreSQL's: on `PATH`, else in `/usr/lib/postgresql/*/bin`.
    fn program(name: &str) -> String {
        let on_path = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if on_path {
            return name.to_owned();
        }
        let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin").join(name))
            .filter(|path| path.exists())
            .collect();
        found.sort();
        found
            .pop()
            .unwrap_or_else(|| panic!("{name} is not installed"))
            .display()
            .to_string()
    }

    /// Runs one of PostgreSQL's client programs on this server; its standard output. Panics
    /// when it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(Self::program(program))
            .args(["-h", &self.host, "-p", &self.port, "-U", &self.user])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// One SQL command on `database`; what `psql` printed, unaligned and without headers.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let args = [
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            database,
            "-c",
            sql,
        ];
        self.run("psql", &args)
    }

    /// Turns autovacuum off for every table of `database`, so that nothing analyses them
    /// behind the bench's back: the launch-day case (codes minted and redeemed at once, before
    /// autovacuum has looked) on purpose, not by luck of its timing.
    pub fn never_analyse(&self, database: &Database<'_>) {
        let tables = self.psql(
            &database.name,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        );
        let sql: String = tables
            .lines()
            .map(|table| format!("ALTER TABLE \"{table}\" SET (autovacuum_enabled = false); "))
            .collect();
        self.psql(&database.name, &sql);
    }

    /// How many times `table` of `database` has been analysed, by hand or by autovacuum.
    pub fn times_analysed(&self, database: &Database<'_>, table: &str) -> u64 {
        let sql = format!(
            "SELECT analyze_count + autoanalyze_count FROM pg_stat_user_tables \
             WHERE relname = '{table}'"
        );
        self.psql(&database.name, &sql).trim().parse().unwrap()
    }

    /// A fresh, empty database (dropped first if a previous run left it).
    pub fn create(&self, database: &str) -> Database<'_> {
        self.run(
            "psql",
            &[
                "-q",
                "-d",
                "postgres",
                "-c",
                &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                "-c",
                &format!("CREATE DATABASE {database}"),
            ],
        );
        Database {
            postgres: self,
            name: database.to_owned(),
        }
    }
}

/// A bench database, dropped with it.
pub struct Database<'a> {
    postgres: &'a Postgres,
    pub name: String,
}

impl Drop for Database<'_> {
    fn drop(&mut self) {
        let _ = Command::new(Postgres::program("psql"))
            .args(["-h", &self.postgres.host, "-p", &self.postgres.port])
            .args(["-U", &self.postgres.user, "-q", "-d", "postgres", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .status();
    }
}
