//! What response signing costs, on PostgreSQL, with the release binary: license sign-ups/s
//! of an application with response signing on (the default; every answer carries an Ed25519
//! RFC 9421 signature, see docs/signing.md) ÷ the same of an application with it turned off;
//! goal ≥ 0.9.
//!
//! Both applications live on one server and one database, created with the defaults (device
//! authentication and cross-banning on); the second is turned off through `PATCH
//! /api/admin/settings`. The signed side's clients send a fresh `Latchkey-Nonce` with every
//! sign-up, as a client that verifies answers does, which adds a covered component. The
//! sign-up blocks alternate between the two (off, on, on, off, …) so that the shared
//! machine's drift in speed moves both sides alike; each side's CPU and WAL per sign-up are
//! printed too, and what the signature alone costs (the server's own signing code, in this
//! process, no HTTP). One answer of each side is checked: signed, covering the nonce, or not
//! signed at all. The last lines printed are the figures with their goal. The goal is
//! reported, not asserted; every request must succeed. Run with `make bench`. Needs
//! PostgreSQL (`BENCH_PGHOST`, `BENCH_PGPORT`, `BENCH_PGUSER`; default
//! 127.0.0.1; 5432, postgres, trust auth) and `psql`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use domain::crypto::{MasterKey, SealedKeyPair};
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use support::abba::{BLOCK, BLOCKS, CLIENTS, Side, alternate, verdict};
use support::{
    App, Kind, Postgres, Server, create_app_with, mint, percentile, sign_up_request, start,
};

const SIGNING_RATIO_GOAL: f64 = 0.9;
/// Signatures per run of [`signing_alone`], and its runs.
const SIGNATURES: usize = 2000;
const SIGNING_RUNS: usize = 5;

/// The signature base of docs/signing.md's worked example (389 bytes): a sign-up answer's,
/// with a nonce.
const BASE: &str = concat!(
    "\"@status\": 200\n",
    "\"content-digest\": sha-256=:WsIjQd2B/ME81p1nGYP+hCAawbMz6nyDH7qV5IS2HaI=:\n",
    "\"@method\";req: POST\n",
    "\"@path\";req: /api/integration/sign_up\n",
    "\"latchkey-nonce\";req: zLkPwezMgY9aWcVBQ78B6z-6VJ_Fpxfd\n",
    "\"@signature-params\": (\"@status\" \"content-digest\" \"@method\";req \"@path\";req ",
    "\"latchkey-nonce\";req);created=1796221181;keyid=\"lk_key_mcxq0cak2q50x6jk\";",
    "alg=\"ed25519\";tag=\"latchkey-response-v1\"",
);

/// What the server's cryptography costs per signed answer, alone: open the sealed private
/// key (AES-256-GCM under the master key), expand it and sign [`BASE`] (Ed25519), with the
/// server's own code, on one thread; µs per answer, the median of [`SIGNING_RUNS`] runs.
fn signing_alone() -> f64 {
    let master = MasterKey::from_bytes(&[0x2a; MasterKey::LEN]).unwrap();
    let purpose = "response-signing:01a23720-16be-7781-a296-ae7ca73fe16b";
    let pair = SealedKeyPair::generate(&master, purpose).unwrap();
    assert_eq!(BASE.len(), 389, "the worked example's base");
    let mut runs: Vec<f64> = (0..SIGNING_RUNS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..SIGNATURES {
                black_box(
                    pair.sign(&master, purpose, black_box(BASE.as_bytes()))
                        .unwrap(),
                );
            }
            started.elapsed().as_secs_f64() * 1e6 / SIGNATURES as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    percentile(&runs, 0.5)
}

/// Turns response signing off for `app`, as its vendor would, with its admin key.
async fn turn_signing_off(client: &reqwest::Client, server: &Server, app: &App) {
    let response = client
        .patch(format!("{}/api/admin/settings", server.base))
        .bearer_auth(&app.admin)
        .json(&json!({"response_signing": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "turning response signing off");
    let settings: Value = response.json().await.unwrap();
    assert_eq!(settings["response_signing"], false, "{settings}");
}

/// One more license sign-up on `side`; its `Signature-Input`, if it has one.
async fn signature_input(client: &reqwest::Client, side: &Side) -> Option<String> {
    let codes = Arc::new(Mutex::new(mint(client, &side.server, &side.app, 1).await));
    let kind = Kind::LicenseOnDevice(codes, format!("{}-check-", side.label));
    let request = sign_up_request(client, &side.server, &side.app, &kind, 0).unwrap();
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "a license sign-up");
    let header = response.headers().get("signature-input")?;
    Some(header.to_str().unwrap().to_owned())
}

/// Each block with signing on ÷ the block with it off that ran next to it (ABBA runs block
/// `k` of both sides back to back), and their median: a burst of other work on the machine
/// moves one of these, where it moves the ratio of the totals.
fn pairs(off: &Side, on: &Side) -> String {
    let mut ratios: Vec<f64> = (off.blocks.iter().zip(&on.blocks))
        .map(|(off, on)| on.rate() / off.rate())
        .collect();
    let each: Vec<String> = ratios.iter().map(|ratio| format!("{ratio:.2}")).collect();
    ratios.sort_by(f64::total_cmp);
    format!(
        "{}; median {:.2}",
        each.join(", "),
        percentile(&ratios, 0.5)
    )
}

#[tokio::main]
async fn main() {
    let postgres = Postgres::from_env();
    println!(
        "license sign-ups: {CLIENTS} concurrent clients, {BLOCKS} blocks of {BLOCK:?} per application, alternating"
    );

    let client = reqwest::Client::new();
    let database = postgres.create(&format!("latchkey_bench_{}_signing", std::process::id()));
    let server = Arc::new(start(&client, Some(&postgres.url(&database.name))).await);
    let off = create_app_with(&client, &server, &json!({"name": "signing off"})).await;
    turn_signing_off(&client, &server, &off).await;
    let on = App {
        sends_nonce: true,
        ..create_app_with(&client, &server, &json!({"name": "signing on"})).await
    };

    let mut sides = [
        Side::new("off", server.clone(), off),
        Side::new("on", server.clone(), on),
    ];
    alternate(&client, &postgres, &mut sides).await;
    let [off, on] = sides;
    let off_input = signature_input(&client, &off).await;
    let on_input = signature_input(&client, &on).await;
    let alone_us = signing_alone();

    println!();
    off.report("response signing off");
    on.report("response signing on, with a Latchkey-Nonce");
    println!(
        "server cpu per sign-up: {:.3} ms on, {:.3} ms off: signing costs {:.3} ms; the signature alone (open the sealed key, expand it, sign a {}-byte base; {SIGNATURES} on one thread, median of {SIGNING_RUNS} runs) {:.3} ms",
        on.server_ms(),
        off.server_ms(),
        on.server_ms() - off.server_ms(),
        BASE.len(),
        alone_us / 1000.0
    );

    assert_eq!(off_input, None, "answers are not signed with signing off");
    let on_input = on_input.expect("answers are signed with signing on");
    assert!(
        on_input.contains(r#""latchkey-nonce";req"#),
        "the signature covers the nonce: {on_input}"
    );
    println!(
        "block by block, on ÷ the off block next to it: {} (no goal)",
        pairs(&off, &on)
    );
    let ratio = on.total().rate() / off.total().rate();
    println!(
        "ratio license_signups signing_on/signing_off = {ratio:.2} (goal >= {SIGNING_RATIO_GOAL}): {}",
        verdict(ratio >= SIGNING_RATIO_GOAL)
    );
}
