//! What files cost the server, with the release binary on SQLite: a 1 GiB file uploaded and
//! downloaded through the admin API, downloaded through the signed integration route, then
//! uploaded and downloaded stored encrypted. Goals: the server's RSS stays below 128 MiB
//! throughout (asserted, on the kernel's `VmHWM`), and a plain upload and a plain download
//! each move at least half as many MB/s as `cp` of the same file on the same disk (reported).
//! The signed and encrypted figures have no goal.
//!
//! The source (pseudo-random bytes, so that nothing along the way can shortcut constant
//! data), the copies, the downloads and the server's store all live in one temporary
//! directory, on one filesystem: `/tmp` unless it is a `tmpfs`, else under the target
//! directory. The plain steps run in [`ROUNDS`] rounds of `cp`, `dd bs=1M` (a copy through
//! user space, for context), the upload and the admin download, and each figure is the best
//! of its runs: on this shared virtual machine a step is slowed, now and then, by other work
//! or by memory the host has to hand back, never sped up. Every timed step starts after a
//! `sync`, so that none pays for another's writes, and none flushes its own: `cp`, `dd` and
//! the server all leave their bytes in the page cache. The server's `VmRSS` is sampled every
//! 20 ms throughout; every transfer is checked by its SHA-256. Run with `make bench`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use bytes::Bytes;
use data_encoding::{BASE64, HEXLOWER};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::abba::verdict;
use support::{App, Server, cpu_secs, create_app, memory_mib, mint, start_with};

/// The file moved: 1 GiB.
const FILE_SIZE: u64 = 1 << 30;
/// The pieces the bench reads and writes files in.
const PIECE: usize = 1 << 20;
/// The server's largest upload, set above the file.
const MAX_SIZE_BYTES: u64 = 2 << 30;
/// Rounds of the plain steps.
const ROUNDS: usize = 3;
/// How long any one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the server's RSS is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
const RSS_GOAL_MIB: f64 = 128.0;
const RATIO_GOAL: f64 = 0.5;
/// What the directory must have free: the source, one copy and the stored file at once, with
/// room to spare.
const FREE_NEEDED: u64 = 5 * FILE_SIZE;

/// MB (10^6 bytes) per second.
fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn sync() {
    assert!(Command::new("sync").status().unwrap().success(), "sync");
}

/// What `command` printed, trimmed.
fn output(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn filesystem_type(path: &Path) -> String {
    output(Command::new("stat").args(["-f", "-c", "%T"]).arg(path))
}

/// A directory on a disk: the system's temporary directory, or the target directory's when
/// that one is in memory (a copy into RAM would be no baseline).
fn scratch_directory() -> tempfile::TempDir {
    let system = std::env::temp_dir();
    let kind = filesystem_type(&system);
    let parent = if kind == "tmpfs" || kind == "ramfs" {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    } else {
        system
    };
    tempfile::tempdir_in(parent).unwrap()
}

/// The server's RSS, read every [`SAMPLE_EVERY`] on a thread of its own: the largest value
/// since the last [`phase`](Self::phase), and over the whole run.
struct Sampler {
    phase_kib: Arc<AtomicU64>,
    run_kib: Arc<AtomicU64>,
    samples: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let phase_kib = Arc::new(AtomicU64::new(0));
        let run_kib = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (phase_kib, run_kib, samples, stop) = (
                phase_kib.clone(),
                run_kib.clone(),
                samples.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib(pid) {
                        phase_kib.fetch_max(kib, Ordering::Relaxed);
                        run_kib.fetch_max(kib, Ordering::Relaxed);
                        samples.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Self {
            phase_kib,
            run_kib,
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// The largest RSS since the last call, in MiB; the next phase starts.
    fn phase(&self) -> f64 {
        self.phase_kib.swap(0, Ordering::Relaxed) as f64 / 1024.0
    }

    /// The largest RSS of the run, in MiB, and how many samples were read.
    fn stop(mut self) -> (f64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        (
            self.run_kib.load(Ordering::Relaxed) as f64 / 1024.0,
            self.samples.load(Ordering::Relaxed),
        )
    }
}

/// Writes `FILE_SIZE` bytes of xorshift64* output to `path`; their SHA-256.
fn write_source(path: &Path) -> [u8; 32] {
    let mut out = BufWriter::with_capacity(PIECE, File::create(path).unwrap());
    let mut sha256 = Sha256::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut piece = vec![0u8; PIECE];
    for _ in 0..FILE_SIZE / PIECE as u64 {
        for word in piece.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        sha256.update(&piece);
        out.write_all(&piece).unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    sha256.finalize().into()
}

fn sha256_of(path: &Path) -> [u8; 32] {
    let mut file = File::open(path).unwrap();
    let mut sha256 = Sha256::new();
    let mut piece = vec![0u8; PIECE];
    loop {
        let read = file.read(&mut piece).unwrap();
        if read == 0 {
            return sha256.finalize().into();
        }
        sha256.update(&piece[..read]);
    }
}

/// The wall time of `command`, a copy of the source to `copy`, in seconds: after a `sync`,
/// so that it does not pay for earlier writes. The copy is removed after.
fn time_copy(command: &mut Command, copy: &Path) -> f64 {
    sync();
    let started = Instant::now();
    let status = command.status().unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(status.success(), "{command:?}");
    assert_eq!(std::fs::metadata(copy).unwrap().len(), FILE_SIZE);
    std::fs::remove_file(copy).unwrap();
    secs
}

/// The file at `path` as a stream of [`PIECE`]s, read on a thread of its own, a few pieces
/// ahead of the request: never the whole file in memory.
fn file_stream(
    path: PathBuf,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let (pieces_tx, mut pieces_rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(error) => {
                let _ = pieces_tx.blocking_send(Err(error));
                return;
            }
        };
        loop {
            let mut piece = Vec::with_capacity(PIECE);
            match (&mut file).take(PIECE as u64).read_to_end(&mut piece) {
                Ok(0) => return,
                Ok(_) => {
                    if pieces_tx.blocking_send(Ok(Bytes::from(piece))).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    let _ = pieces_tx.blocking_send(Err(error));
                    return;
                }
            }
        }
    });
    futures_util::stream::poll_fn(move |cx| pieces_rx.poll_recv(cx))
}

/// What a timed transfer took: wall time, and the server's and the bench's CPU.
struct Timed {
    secs: f64,
    server_cpu: f64,
    bench_cpu: f64,
}

impl Timed {
    fn line(&self, what: &str, bytes: u64) -> String {
        format!(
            "{what}: {bytes} bytes in {:.2} s = {:.1} MB/s; cpu: server {:.2} s, bench {:.2} s",
            self.secs,
            mb_per_s(bytes, self.secs),
            self.server_cpu,
            self.bench_cpu
        )
    }
}

/// Uploads the source as `name`; the 201 answer and what it took.
async fn upload(
    client: &reqwest::Client,
    server: &Server,
    app: &App,
    source: &Path,
    name: &str,
    encrypted: bool,
) -> (Value, Timed) {
    sync();
    let pid = server.pid().to_string();
    let (server_cpu, bench_cpu) = (cpu_secs(&pid), cpu_secs("self"));
    let started = Instant::now();
    let body = reqwest::Body::wrap_stream(file_stream(source.to_owned()));
    let file = Part::stream_with_length(body, FILE_SIZE)
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .unwrap();
    let form = Form::new()
        .text("name", name.to_owned())
        .text("is_public", "false")
        .text("store_encrypted", encrypted.to_string())
        .part("file", file);
    let response = client
        .post(format!("{}/api/admin/files", server.base))
        .bearer_auth(&app.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    let timed = Timed {
        secs: started.elapsed().as_secs_f64(),
        server_cpu: cpu_secs(&pid) - server_cpu,
        bench_cpu: cpu_secs("self") - bench_cpu,
    };
    assert_eq!(status, 201, "uploading {name}: {created}");
    (created, timed)
}

/// Sends `request` and writes the answer's body to `path` as it comes; the answer's headers
/// and what it took. The body must be `expected` bytes long.
async fn download(
    request: reqwest::RequestBuilder,
    pid: u32,
    path: &Path,
    expected: u64,
) -> (reqwest::header::HeaderMap, Timed) {
    sync();
    let pid = pid.to_string();
    let (server_cpu, bench_cpu) = (cpu_secs(&pid), cpu_secs("self"));
    let started = Instant::now();
    let mut response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "downloading");
    let headers = response.headers().clone();
    let mut out = BufWriter::with_capacity(PIECE, File::create(path).unwrap());
    let mut received = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        received += chunk.len() as u64;
        out.write_all(&chunk).unwrap();
    }
    drop(out.into_inner().unwrap());
    let timed = Timed {
        secs: started.elapsed().as_secs_f64(),
        server_cpu: cpu_secs(&pid) - server_cpu,
        bench_cpu: cpu_secs("self") - bench_cpu,
    };
    assert_eq!(received, expected, "the download's length");
    (headers, timed)
}

/// A session of a member with an active (lifetime) membership, for the integration routes.
async fn member_session(client: &reqwest::Client, server: &Server, app: &App) -> String {
    let code = mint(client, server, app, 1).await.remove(0);
    let integration = |path: &str| {
        client
            .post(format!("{}/api/integration/{path}", server.base))
            .header("x-api-key", &app.key)
            .header("x-api-secret", &app.secret)
    };
    let response = integration("sign_up_with_license_code")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the member's sign-up");
    let response = integration("auth/login")
        .json(&json!({"credentials": {"code": code}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the member's sign-in");
    let session: Value = response.json().await.unwrap();
    session["session_token"].as_str().unwrap().to_owned()
}

async fn delete_file(client: &reqwest::Client, server: &Server, app: &App, id: &str) {
    let response = client
        .delete(format!("{}/api/admin/files/{id}", server.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "deleting the file");
}

fn field<'v>(value: &'v Value, name: &str) -> &'v str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
}

/// Every run of each kind of transfer, and the server's peak RSS over them.
#[derive(Default)]
struct Figures {
    rows: Vec<(&'static str, Vec<Timed>, f64)>,
}

impl Figures {
    /// Records and prints one run of `what`, which moved `bytes` while the server's RSS
    /// peaked at `peak_rss` MiB.
    fn record(&mut self, what: &'static str, bytes: u64, timed: Timed, peak_rss: f64) {
        println!(
            "{}; server peak RSS {peak_rss:.1} MiB",
            timed.line(what, bytes)
        );
        match self.rows.iter_mut().find(|(name, _, _)| *name == what) {
            Some((_, runs, peak)) => {
                runs.push(timed);
                *peak = peak.max(peak_rss);
            }
            None => self.rows.push((what, vec![timed], peak_rss)),
        }
    }

    /// The fastest run of `what`, in seconds.
    fn best(&self, what: &str) -> f64 {
        let (_, runs, _) = self.rows.iter().find(|(name, _, _)| *name == what).unwrap();
        runs.iter()
            .map(|timed| timed.secs)
            .fold(f64::INFINITY, f64::min)
    }
}

/// The MB/s of the file moved in each of `secs` seconds, in the order run.
fn rates(secs: impl Iterator<Item = f64>) -> String {
    secs.map(|secs| format!("{:.0}", mb_per_s(FILE_SIZE, secs)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn fastest(secs: &[f64]) -> f64 {
    secs.iter().copied().fold(f64::INFINITY, f64::min)
}

#[tokio::main]
async fn main() {
    let dir = scratch_directory();
    let store = dir.path().join("files");
    let source = dir.path().join("source.bin");
    let copy = dir.path().join("copy.bin");
    let downloaded = dir.path().join("downloaded.bin");
    let place = output(
        Command::new("df")
            .args(["--output=source,target,avail", "-B1"])
            .arg(dir.path()),
    );
    let place: Vec<&str> = place.lines().last().unwrap().split_whitespace().collect();
    let free: u64 = place[2].parse().unwrap();
    println!(
        "files in {} on {} mounted at {} ({}), {:.1} GB free: the source, the copies, the downloads and the server's store",
        dir.path().display(),
        place[0],
        place[1],
        filesystem_type(dir.path()),
        free as f64 / 1e9
    );
    assert!(
        free >= FREE_NEEDED,
        "the bench needs {FREE_NEEDED} bytes free"
    );

    let started = Instant::now();
    let source_sha256 = write_source(&source);
    println!(
        "source: {FILE_SIZE} bytes (1 GiB) of xorshift64* output, sha256 {}, written in {:.2} s",
        HEXLOWER.encode(&source_sha256),
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap();
    let max_size = MAX_SIZE_BYTES.to_string();
    let url = format!("file://{}", store.display());
    let server = start_with(
        &client,
        None,
        &[
            ("LATCHKEY__FILES__MAX_SIZE_BYTES", &max_size),
            ("LATCHKEY__FILES__URL", &url),
        ],
    )
    .await;
    let app = create_app(&client, &server).await;
    let pid = server.pid();
    std::fs::create_dir_all(&store).unwrap();
    assert_eq!(
        std::fs::metadata(&store).unwrap().dev(),
        std::fs::metadata(&source).unwrap().dev(),
        "the store is on the source's filesystem"
    );
    let session = member_session(&client, &server, &app).await;
    println!("server: release latchkey serve, SQLite, files.url = {url}");
    let idle = memory_mib(pid, "VmRSS");
    println!("server RSS idle: {idle:.1} MiB");
    let sampler = Sampler::start(pid);
    let mut figures = Figures::default();
    let (mut cp, mut dd) = (Vec::new(), Vec::new());
    let mut signed_headers = None;

    for round in 1..=ROUNDS {
        println!("round {round} of {ROUNDS}:");
        cp.push(time_copy(Command::new("cp").arg(&source).arg(&copy), &copy));
        let mut dd_command = Command::new("dd");
        dd_command
            .arg(format!("if={}", source.display()))
            .arg(format!("of={}", copy.display()))
            .args(["bs=1M", "status=none"]);
        dd.push(time_copy(&mut dd_command, &copy));
        println!(
            "cp: {:.2} s = {:.1} MB/s; dd bs=1M: {:.2} s = {:.1} MB/s",
            cp[round - 1],
            mb_per_s(FILE_SIZE, cp[round - 1]),
            dd[round - 1],
            mb_per_s(FILE_SIZE, dd[round - 1])
        );

        let name = format!("plain-{round}.bin");
        sampler.phase();
        let (plain, timed) = upload(&client, &server, &app, &source, &name, false).await;
        figures.record("upload_plain", FILE_SIZE, timed, sampler.phase());
        assert_eq!(plain["size_bytes"], FILE_SIZE, "the stored size");
        assert_eq!(
            field(&plain, "sha256"),
            HEXLOWER.encode(&source_sha256),
            "the stored SHA-256"
        );
        let id = field(&plain, "id").to_owned();

        let request = client
            .get(format!("{}/api/admin/files/{id}/download", server.base))
            .bearer_auth(&app.admin);
        sampler.phase();
        let (_, timed) = download(request, pid, &downloaded, FILE_SIZE).await;
        figures.record("download_plain", FILE_SIZE, timed, sampler.phase());
        assert_eq!(sha256_of(&downloaded), source_sha256, "the admin download");
        std::fs::remove_file(&downloaded).unwrap();

        if round == ROUNDS {
            // The integration route, once: signed, for a member.
            let request = client
                .get(format!(
                    "{}/api/integration/files/{id}/download",
                    server.base
                ))
                .header("x-api-key", &app.key)
                .header("x-api-secret", &app.secret)
                .bearer_auth(&session);
            sampler.phase();
            let (headers, timed) = download(request, pid, &downloaded, FILE_SIZE).await;
            figures.record("download_signed", FILE_SIZE, timed, sampler.phase());
            assert_eq!(
                sha256_of(&downloaded),
                source_sha256,
                "the integration download"
            );
            std::fs::remove_file(&downloaded).unwrap();
            signed_headers = Some(headers);
        }
        delete_file(&client, &server, &app, &id).await;
    }
    let headers = signed_headers.unwrap();
    assert!(headers.contains_key("signature"), "the answer is signed");
    assert_eq!(
        headers["content-digest"].to_str().unwrap(),
        format!("sha-256=:{}:", BASE64.encode(&source_sha256)),
        "the signed digest"
    );

    // Encrypted, once: the admin route serves the stored ciphertext.
    println!("encrypted:");
    sampler.phase();
    let (sealed, timed) = upload(&client, &server, &app, &source, "sealed.bin", true).await;
    figures.record("upload_encrypted", FILE_SIZE, timed, sampler.phase());
    let sealed_size = sealed["size_bytes"].as_u64().unwrap();
    assert!(sealed_size > FILE_SIZE, "the ciphertext is longer");
    assert_eq!(sealed["is_encrypted"], true);
    let id = field(&sealed, "id").to_owned();
    let request = client
        .get(format!("{}/api/admin/files/{id}/download", server.base))
        .bearer_auth(&app.admin);
    sampler.phase();
    let (_, timed) = download(request, pid, &downloaded, sealed_size).await;
    figures.record("download_encrypted", sealed_size, timed, sampler.phase());
    assert_eq!(
        HEXLOWER.encode(&sha256_of(&downloaded)),
        field(&sealed, "sha256"),
        "the encrypted download"
    );
    std::fs::remove_file(&downloaded).unwrap();
    delete_file(&client, &server, &app, &id).await;

    let (run_peak, samples) = sampler.stop();
    let hwm = memory_mib(pid, "VmHWM");
    let rss_end = memory_mib(pid, "VmRSS");

    println!();
    println!(
        "MB = 10^6 bytes; each figure is the best of its runs; the encrypted ones count the plain file's {FILE_SIZE} bytes (the ciphertext is {sealed_size})"
    );
    let best_cp = fastest(&cp);
    println!(
        "cp (copy_file_range, in the kernel): runs {} MB/s; best {:.1} MB/s",
        rates(cp.iter().copied()),
        mb_per_s(FILE_SIZE, best_cp)
    );
    println!(
        "dd bs=1M (read and write through user space; context, no goal): runs {} MB/s; best {:.1} MB/s = {:.2} of cp",
        rates(dd.iter().copied()),
        mb_per_s(FILE_SIZE, fastest(&dd)),
        best_cp / fastest(&dd)
    );
    for (what, runs, peak) in &figures.rows {
        let best = figures.best(what);
        println!(
            "files_{what}: runs {} MB/s; best {:.1} MB/s = {:.2} of cp; server peak RSS {peak:.1} MiB",
            rates(runs.iter().map(|timed| timed.secs)),
            mb_per_s(FILE_SIZE, best),
            best_cp / best
        );
    }
    println!("server RSS idle {idle:.1} MiB, at the end {rss_end:.1} MiB");
    println!(
        "server peak RSS sampled every {SAMPLE_EVERY:?} ({samples} samples): {run_peak:.1} MiB; VmHWM {hwm:.1} MiB"
    );
    println!();
    for what in ["upload_plain", "download_plain"] {
        let ratio = best_cp / figures.best(what);
        println!(
            "ratio files_{what}/cp = {ratio:.2} (goal >= {RATIO_GOAL}): {}",
            verdict(ratio >= RATIO_GOAL)
        );
    }
    for what in ["download_signed", "upload_encrypted", "download_encrypted"] {
        println!(
            "ratio files_{what}/cp = {:.2} (no goal)",
            best_cp / figures.best(what)
        );
    }
    let peak = hwm.max(run_peak);
    println!(
        "server peak RSS {peak:.1} MiB (goal < {RSS_GOAL_MIB} MiB): {}",
        verdict(peak < RSS_GOAL_MIB)
    );
    drop(server);
    assert!(
        peak < RSS_GOAL_MIB,
        "the server's RSS reached {peak:.1} MiB, over the {RSS_GOAL_MIB} MiB goal"
    );
}
