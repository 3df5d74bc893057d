//! Sign-up throughput of the release binary, each figure a ratio against a limit measured in
//! the same run on the same machine:
//!
//! - (a) password sign-ups/s on PostgreSQL ÷ argon2id hashes/s with the server's parameters on
//!   all cores (plain threads, no HTTP, no database); goal ≥ 0.85;
//! - (b) launch day: license codes minted and redeemed at once on a database that was never
//!   analysed (autovacuum off for its tables, checked at the end), license-code sign-ups/s on
//!   PostgreSQL ÷ pgbench's built-in TPC-B-like tps at the same 16 clients over TCP on the same
//!   PostgreSQL; goal ≥ 0.8;
//! - (c) the same once the database has grown and been analysed (`ANALYZE`, as autovacuum
//!   would); goal ≥ 0.8;
//! - p50/p99 of each closed-loop run, and of license sign-ups paced open-loop at half the
//!   measured maximum rate; peak RSS; `/livez` p99 during the password storm;
//! - the same sign-ups on SQLite, for comparison (no goal).
//!
//! Each limit is measured before, between and after the blocks it is compared with, so that
//! the shared machine's drift in speed moves both sides. The last lines printed are the
//! ratios. Goals are reported, not asserted; every request must succeed. Run with
//! `make bench`. Needs PostgreSQL (`BENCH_PGHOST`, `BENCH_PGPORT`, `BENCH_PGUSER`; default
//! 127.0.0.1 over TCP; 5432, postgres, trust auth) and `pgbench`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use server::hashing::{ITERATIONS, MEMORY_KIB, PARALLELISM};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{
    App, Cpu, Database, Kind, Postgres, Run, Server, closed_loop, cpu_secs, create_app, memory_mib,
    mint, percentile, probe_livez, sign_up, start,
};

const ARGON2_HASHES: usize = 200;
/// Concurrent clients: the launch-day measurement's 16 (issue 21), for pgbench too.
const CLIENTS: usize = 16;
const LICENSE_GOAL: f64 = 0.8;
const RUN: Duration = Duration::from_secs(12);
const SQLITE_RUN: Duration = Duration::from_secs(5);

// --- load -------------------------------------------------------------------------------

/// Open-loop license sign-ups at `rate` per second for `duration`: each request starts at its
/// scheduled time whatever the others do, and its latency counts from that time (no
/// coordinated omission). Returns sorted latencies in ms and the failure count.
async fn paced(
    client: &reqwest::Client,
    server: &Arc<Server>,
    app: &Arc<App>,
    codes: Arc<Mutex<Vec<String>>>,
    rate: f64,
    duration: Duration,
) -> (Vec<f64>, usize) {
    let period = Duration::from_secs_f64(1.0 / rate);
    let count = (rate * duration.as_secs_f64()) as usize;
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let scheduled = started + period.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled).await;
        let (client, server, app, kind) = (
            client.clone(),
            server.clone(),
            app.clone(),
            Kind::License(codes.clone()),
        );
        tasks.push(tokio::spawn(async move {
            let status = sign_up(&client, &server, &app, &kind, n).await;
            (status, scheduled.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let (mut latencies, mut failed) = (Vec::with_capacity(count), 0);
    for task in tasks {
        let (status, latency) = task.await.unwrap();
        if status == Some(200) {
            latencies.push(latency);
        } else {
            failed += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    (latencies, failed)
}

// --- the limits -------------------------------------------------------------------------

/// argon2id hashes per second with the server's parameters on `threads` threads, each with its
/// own `Argon2` and buffer: the ceiling for password sign-ups.
fn argon2_limit(threads: usize) -> f64 {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(32)).unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (params, next) = (params.clone(), next.clone());
            scope.spawn(move || {
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut blocks = vec![Block::default(); params.block_count()];
                let mut output = [0_u8; 32];
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= ARGON2_HASHES {
                        break;
                    }
                    let password = format!("correct-horse-battery-{n}");
                    let salt = (n as u128).to_le_bytes();
                    argon2
                        .hash_password_into_with_memory(
                            password.as_bytes(),
                            &salt,
                            &mut output,
                            &mut blocks,
                        )
                        .unwrap();
                }
            });
        }
    });
    ARGON2_HASHES as f64 / started.elapsed().as_secs_f64()
}

/// pgbench, which only this bench runs.
impl Postgres {
    /// A scratch database initialised for pgbench's built-in TPC-B-like script (scale 1).
    fn pgbench_database(&self, database: &str) -> Database<'_> {
        let scratch = self.create(database);
        self.run("pgbench", &["-i", "-s", "1", "-q", database]);
        scratch
    }

    /// The TPC-B-like script on `database`, `clients` clients for `duration`: its tps without
    /// the initial connection time.
    fn pgbench_tps(&self, database: &Database<'_>, clients: usize, duration: Duration) -> f64 {
        let clients = clients.to_string();
        let seconds = duration.as_secs().to_string();
        let output = self.run(
            "pgbench",
            &[
                "-c",
                &clients,
                "-j",
                &clients,
                "-T",
                &seconds,
                "-n",
                &database.name,
            ],
        );
        let line = output
            .lines()
            .find(|line| line.starts_with("tps = ") && line.contains("without initial"))
            .unwrap_or_else(|| panic!("no tps in pgbench's output:\n{output}"));
        line["tps = ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
}

// --- the run ----------------------------------------------------------------------------

/// Runs `BLOCKS` blocks of `duration / BLOCKS` each, calling `limit` before the first block
/// and after every block: a limit measured only before (or after) the run would take any
/// drift of this shared machine's speed for a difference between the two.
const BLOCKS: usize = 4;

/// The mean of the limits measured around the blocks.
fn mean(limits: &[f64]) -> f64 {
    limits.iter().sum::<f64>() / limits.len() as f64
}

/// License sign-ups at the maximum rate: a short warm-up sizes the stock of codes, then
/// `clients` closed-loop clients run for `duration` in [`BLOCKS`] blocks, with `between`
/// (measuring a limit) called before, between and after them. Returns the run and the CPU it
/// cost.
async fn license_max(
    client: &reqwest::Client,
    server: &Arc<Server>,
    app: &Arc<App>,
    clients: usize,
    duration: Duration,
    between: &mut dyn FnMut(),
) -> (Run, Cpu) {
    let codes = Arc::new(Mutex::new(mint(client, server, app, 2000).await));
    let warm_up = closed_loop(
        client,
        server,
        app,
        Kind::License(codes),
        clients,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(warm_up.failed, 0, "every license sign-up succeeds");
    let needed = (warm_up.rate() * duration.as_secs_f64() * 1.5) as usize + 1000;
    let codes = Arc::new(Mutex::new(mint(client, server, app, needed).await));
    between();
    let (mut run, mut cpu) = (Run::default(), Cpu::default());
    for _ in 0..BLOCKS {
        let before = Cpu::now(server.pid());
        let block = closed_loop(
            client,
            server,
            app,
            Kind::License(codes.clone()),
            clients,
            duration / BLOCKS as u32,
        )
        .await;
        cpu.add(Cpu::now(server.pid()).since(before));
        run.add(&block);
        between();
    }
    (run, cpu)
}

fn report(label: &str, run: &Run) {
    println!(
        "{label}: {} succeeded, {} failed in {:.1} s: {:.1}/s",
        run.ok,
        run.failed,
        run.secs,
        run.rate()
    );
}

/// [`report`], then the run's latency and its CPU per request.
fn report_with_cost(label: &str, run: &Run, cpu: Cpu) {
    report(label, run);
    println!("  {}", run.latency());
    println!("  {}", cpu.per_request(run.ok, run.secs));
}

fn list(limits: &[f64]) -> String {
    let each: Vec<String> = limits.iter().map(|limit| format!("{limit:.1}")).collect();
    format!("{} (mean {:.1})", each.join(", "), mean(limits))
}

#[tokio::main]
async fn main() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let clients = CLIENTS;
    let bench_id = std::process::id();
    let postgres = Postgres::from_env();
    println!(
        "cores: {cores}; load: {clients} concurrent clients; runs of {RUN:?} in {BLOCKS} blocks"
    );

    let client = reqwest::Client::new();
    let database = postgres.create(&format!("latchkey_bench_{bench_id}"));
    let server = Arc::new(start(&client, Some(&postgres.url(&database.name))).await);
    postgres.never_analyse(&database);
    let app = Arc::new(create_app(&client, &server).await);
    let idle_rss = memory_mib(server.pid(), "VmRSS:");

    // (a): password sign-ups, with /livez probed alongside, between measures of the argon2
    // limit (taken with the server idle and the probe stopped).
    let self_before = cpu_secs("self");
    let mut argon2 = vec![argon2_limit(cores)];
    let (mut password, mut password_cpu, mut livez) = (Run::default(), Cpu::default(), Vec::new());
    for block in 0..BLOCKS {
        let stop = Arc::new(AtomicBool::new(false));
        let prober = tokio::spawn(probe_livez(
            client.clone(),
            format!("{}/livez", server.base),
            stop.clone(),
            Duration::from_millis(10),
            usize::MAX,
        ));
        let before = Cpu::now(server.pid());
        let block = closed_loop(
            &client,
            &server,
            &app,
            Kind::Password(format!("pw{block}_")),
            clients,
            RUN / BLOCKS as u32,
        )
        .await;
        password_cpu.add(Cpu::now(server.pid()).since(before));
        password.add(&block);
        stop.store(true, Ordering::Relaxed);
        livez.extend(prober.await.unwrap());
        argon2.push(argon2_limit(cores));
    }
    livez.sort_by(f64::total_cmp);
    let argon2_cpu_ms = (cpu_secs("self") - self_before - password_cpu.bench) * 1000.0
        / (argon2.len() * ARGON2_HASHES) as f64;
    let storm_peak_rss = memory_mib(server.pid(), "VmHWM:");

    // (b): license sign-ups on codes just minted, never analysed, between runs of pgbench's
    // TPC-B-like script on a scratch database of the same PostgreSQL, at the same client
    // count; (c) the same after `ANALYZE`; then paced at half the launch-day maximum.
    let scratch = postgres.pgbench_database(&format!("latchkey_bench_{bench_id}_pgbench"));
    let mut tpcb = Vec::new();
    let mut pgbench = || tpcb.push(postgres.pgbench_tps(&scratch, clients, RUN / BLOCKS as u32));
    let (measured_license, license_cpu) =
        license_max(&client, &server, &app, clients, RUN, &mut pgbench).await;
    let analysed_during_launch = postgres.times_analysed(&database, "licenses");
    let launch_tpcb = std::mem::take(&mut tpcb);
    postgres.psql(&database.name, "ANALYZE");
    let mut pgbench = || tpcb.push(postgres.pgbench_tps(&scratch, clients, RUN / BLOCKS as u32));
    let (grown_license, grown_cpu) =
        license_max(&client, &server, &app, clients, RUN, &mut pgbench).await;
    let grown_tpcb = std::mem::take(&mut tpcb);
    drop(scratch);
    let half_rate = measured_license.rate() / 2.0;
    let codes = mint(
        &client,
        &server,
        &app,
        (half_rate * RUN.as_secs_f64()) as usize + 100,
    )
    .await;
    let (latencies, paced_failed) = paced(
        &client,
        &server,
        &app,
        Arc::new(Mutex::new(codes)),
        half_rate,
        RUN,
    )
    .await;
    let peak_rss = memory_mib(server.pid(), "VmHWM:");
    drop(server);
    drop(database);

    // SQLite, for comparison.
    let sqlite = {
        let server = Arc::new(start(&client, None).await);
        let app = Arc::new(create_app(&client, &server).await);
        let password = closed_loop(
            &client,
            &server,
            &app,
            Kind::Password("pw_".to_owned()),
            clients,
            SQLITE_RUN,
        )
        .await;
        let (license, license_cpu) =
            license_max(&client, &server, &app, clients, SQLITE_RUN, &mut || {}).await;
        (password, license, license_cpu)
    };
    let argon2_mean = mean(&argon2);
    let (launch_tpcb_mean, grown_tpcb_mean) = (mean(&launch_tpcb), mean(&grown_tpcb));

    println!();
    println!(
        "argon2id limit (m={MEMORY_KIB} KiB, t={ITERATIONS}, p={PARALLELISM}; {ARGON2_HASHES} hashes on {cores} threads, no HTTP, no database), before, between and after the password blocks: {} hashes/s; cpu per hash {argon2_cpu_ms:.2} ms",
        list(&argon2)
    );
    println!(
        "pgbench tpcb-like ({clients} clients over TCP, scale 1, {:?} each), before, between and after the launch-day license blocks: {} tps; around the grown ones: {} tps",
        RUN / BLOCKS as u32,
        list(&launch_tpcb),
        list(&grown_tpcb)
    );
    report_with_cost("postgres password sign-ups", &password, password_cpu);
    report_with_cost(
        "postgres license sign-ups, launch day (fresh codes, never analysed)",
        &measured_license,
        license_cpu,
    );
    report_with_cost(
        "postgres license sign-ups, grown and analysed",
        &grown_license,
        grown_cpu,
    );
    println!(
        "postgres license sign-ups paced at {half_rate:.1}/s (half the maximum): {} succeeded, {paced_failed} failed; p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "/livez during the password storm: p50 {:.2} ms p99 {:.2} ms max {:.2} ms over {} probes",
        percentile(&livez, 0.5),
        percentile(&livez, 0.99),
        livez.last().copied().unwrap_or_default(),
        livez.len()
    );
    println!(
        "server rss (postgres): idle {idle_rss:.1} MiB, peak after the password storm {storm_peak_rss:.1} MiB, peak over the run {peak_rss:.1} MiB"
    );
    report("sqlite password sign-ups", &sqlite.0);
    report_with_cost("sqlite license sign-ups", &sqlite.1, sqlite.2);
    println!(
        "ratio sqlite: password sign-ups/argon2 limit = {:.2}, license sign-ups/pgbench tpcb = {:.2} (no goal)",
        sqlite.0.rate() / argon2_mean,
        sqlite.1.rate() / launch_tpcb_mean
    );

    assert_eq!(password.failed, 0, "every password sign-up succeeds");
    assert_eq!(measured_license.failed, 0, "every license sign-up succeeds");
    assert_eq!(grown_license.failed, 0, "every license sign-up succeeds");
    assert_eq!(
        analysed_during_launch, 0,
        "the launch-day run is on a never-analysed licenses table"
    );
    assert_eq!(paced_failed, 0, "every paced license sign-up succeeds");
    assert_eq!(sqlite.0.failed, 0, "every SQLite password sign-up succeeds");
    assert_eq!(sqlite.1.failed, 0, "every SQLite license sign-up succeeds");
    println!(
        "ratio password_signups/argon2_limit = {:.2} (goal >= 0.85)",
        password.rate() / argon2_mean
    );
    println!(
        "ratio license_signups/pgbench_tpcb, launch day (fresh codes, never analysed) = {:.2} (goal >= {LICENSE_GOAL})",
        measured_license.rate() / launch_tpcb_mean
    );
    println!(
        "ratio license_signups/pgbench_tpcb, grown and analysed = {:.2} (goal >= {LICENSE_GOAL})",
        grown_license.rate() / grown_tpcb_mean
    );
}
