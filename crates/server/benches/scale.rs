//! Whether Latchkey slows down as an application grows, on PostgreSQL, with the release binary:
//!
//! - license sign-ups/s on a database grown to 1,000,000 users, 1,000,000 licenses,
//!   100,000 IP bans and 100,000 hardware-id bans ÷ the same on an empty database; goal ≥ 0.9;
//!   on both, the codes redeemed are minted just before and never analysed (autovacuum off);
//! - how long growing that database took (SQL through `psql`; no goal);
//! - the admin user list walked by cursor, 200 a page, from the first page to the last: the
//!   last full page's latency ÷ the first's (goal ≤ 1.5) and the slowest page (goal ≤ 20 ms);
//!   likewise the ban list.
//!
//! Two servers run side by side, one on each database, and the sign-up blocks alternate between
//! them (empty, grown, grown, empty, …) so that the shared machine's drift in speed moves both
//! sides alike. Each side's CPU and WAL per sign-up are printed too, to tell a cost of the
//! grown data (PostgreSQL's share) from a busy machine ("other"). The last lines printed are
//! the figures with their goals. Goals are reported,
//! not asserted; every request must succeed and each walk must list every row once, newest
//! first. Run with `make bench`. Needs PostgreSQL (`BENCH_PGHOST`, `BENCH_PGPORT`,
//! `BENCH_PGUSER`; default 127.0.0.1; 5432, postgres, trust auth)
//! and `psql`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use support::abba::{BLOCK, BLOCKS, CLIENTS, Side, alternate, verdict};
use support::grow::{HARDWARE_ID_BANS, IP_BANS, LICENSES, USERS, grow};
use support::{Database, Postgres, create_app_with, percentile, start};

const PAGE: usize = 200;
/// Repeats of the first and of the last page, whose medians are compared.
const REPEATS: usize = 7;

const SIGN_UP_RATIO_GOAL: f64 = 0.9;
const LAST_FIRST_GOAL: f64 = 1.5;
const PAGE_MS_GOAL: f64 = 20.0;

/// How many rows of `table` belong to `app`.
fn count(postgres: &Postgres, database: &Database<'_>, table: &str, app: &str) -> usize {
    let sql = format!("SELECT count(*) FROM {table} WHERE application_id = '{app}'");
    let output = postgres.psql(&database.name, &sql);
    output.trim().parse().unwrap()
}

// --- sign-ups -----------------------------------------------------------------------------

/// One database's side of the comparison: its own server, and an application created with
/// the defaults (device authentication and cross-banning on).
async fn side(client: &reqwest::Client, url: &str, label: &'static str) -> Side {
    let server = start(client, Some(url)).await;
    let app = create_app_with(client, &server, &json!({"name": "scale"})).await;
    Side::new(label, Arc::new(server), app)
}

// --- lists by cursor ----------------------------------------------------------------------

/// One admin list (`users` or `bans`) walked by cursor from its first page to its last.
struct Walk {
    list: &'static str,
    /// Each page's latency, in ms, in the order walked.
    pages: Vec<f64>,
    items: usize,
    /// Places where an id was not strictly older than the one listed before it.
    out_of_order: usize,
    /// Medians of [`REPEATS`] requests of the first page and of the last full page.
    first: f64,
    last: f64,
    /// The last full page's number, from 1.
    last_page: usize,
}

/// One page of `list` after `cursor` (the first page without one): the latency until the
/// whole body arrived, in ms, and the body.
async fn page(
    client: &reqwest::Client,
    side: &Side,
    list: &str,
    cursor: Option<&str>,
) -> (f64, Value) {
    let mut request = client
        .get(format!("{}/api/admin/{list}", side.server.base))
        .bearer_auth(&side.app.admin)
        .query(&[("limit", PAGE.to_string())]);
    if let Some(cursor) = cursor {
        request = request.query(&[("cursor", cursor)]);
    }
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.bytes().await.unwrap();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(
        status,
        200,
        "GET {list}: {}",
        String::from_utf8_lossy(&body)
    );
    (ms, serde_json::from_slice(&body).unwrap())
}

/// The median latency of [`REPEATS`] requests of one page.
async fn median(client: &reqwest::Client, side: &Side, list: &str, cursor: Option<&str>) -> f64 {
    let mut latencies = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        latencies.push(page(client, side, list, cursor).await.0);
    }
    latencies.sort_by(f64::total_cmp);
    percentile(&latencies, 0.5)
}

/// Every page of `list`, following `next_cursor` until it is null; then the first and the
/// last full page again, [`REPEATS`] times each. The last full page, not the last: that one
/// holds what is left over, often a handful of rows, which would flatter the deep end.
async fn walk(client: &reqwest::Client, side: &Side, list: &'static str) -> Walk {
    let (mut pages, mut items, mut out_of_order) = (Vec::new(), 0, 0);
    let (mut cursor, mut previous_id) = (None::<String>, None::<String>);
    // The last full page's number and the cursor that asks for it.
    let mut last_full = (1, None::<String>);
    loop {
        let (ms, body) = page(client, side, list, cursor.as_deref()).await;
        pages.push(ms);
        let rows = body[list].as_array().unwrap();
        if rows.len() == PAGE {
            last_full = (pages.len(), cursor.clone());
        }
        for item in rows {
            let id = item["id"].as_str().unwrap();
            // UUIDs in lower-case hex compare as text the way they compare as numbers.
            out_of_order += usize::from(previous_id.as_deref().is_some_and(|prev| id >= prev));
            previous_id = Some(id.to_owned());
            items += 1;
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let first = median(client, side, list, None).await;
    let last = median(client, side, list, last_full.1.as_deref()).await;
    Walk {
        list,
        pages,
        items,
        out_of_order,
        first,
        last,
        last_page: last_full.0,
    }
}

// --- the report ---------------------------------------------------------------------------

impl Walk {
    fn sorted(&self) -> Vec<f64> {
        let mut sorted = self.pages.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// The slowest page's latency and its number, from 1: whether the slow pages are the
    /// early ones (cold caches), the late ones (a cost growing with the depth), or anywhere
    /// (the shared machine's hiccups).
    fn slowest(&self) -> (f64, usize) {
        self.pages
            .iter()
            .enumerate()
            .map(|(index, ms)| (*ms, index + 1))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or_default()
    }

    fn report(&self) {
        let sorted = self.sorted();
        let (max, at) = self.slowest();
        println!(
            "{} by cursor ({PAGE} a page): {} in {} pages, {} out of order; first page {:.2} ms, last full page (page {}) {:.2} ms (medians of {REPEATS}); every page p50 {:.2} ms p99 {:.2} ms max {max:.2} ms (page {at})",
            self.list,
            self.items,
            self.pages.len(),
            self.out_of_order,
            self.first,
            self.last_page,
            self.last,
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
        );
    }

    fn goals(&self) {
        let ratio = self.last / self.first;
        let (max, _) = self.slowest();
        println!(
            "ratio {}_last_full_page/first_page = {ratio:.2} (goal <= {LAST_FIRST_GOAL}): {}",
            self.list,
            verdict(ratio <= LAST_FIRST_GOAL)
        );
        println!(
            "{}_slowest_page = {max:.2} ms (goal <= {PAGE_MS_GOAL} ms): {}",
            self.list,
            verdict(max <= PAGE_MS_GOAL)
        );
    }
}

#[tokio::main]
async fn main() {
    let postgres = Postgres::from_env();
    let bench_id = std::process::id();
    println!(
        "license sign-ups: {CLIENTS} concurrent clients, {BLOCKS} blocks of {BLOCK:?} per database, alternating"
    );

    let client = reqwest::Client::new();
    let empty_db = postgres.create(&format!("latchkey_bench_{bench_id}_empty"));
    let grown_db = postgres.create(&format!("latchkey_bench_{bench_id}_grown"));
    let empty = side(&client, &postgres.url(&empty_db.name), "empty").await;
    let grown = side(&client, &postgres.url(&grown_db.name), "grown").await;
    let growth = grow(&postgres, &grown_db, &grown.app.id);
    // The codes the blocks redeem are minted after this, on both sides, and never analysed:
    // the launch-day case, on an empty and on a grown database (whose growth was analysed).
    postgres.never_analyse(&empty_db);
    postgres.never_analyse(&grown_db);

    let mut sides = [empty, grown];
    alternate(&client, &postgres, &mut sides).await;
    let [empty, grown] = sides;

    let users = walk(&client, &grown, "users").await;
    let bans = walk(&client, &grown, "bans").await;
    let user_rows = count(&postgres, &grown_db, "users", &grown.app.id);
    let ban_rows = count(&postgres, &grown_db, "bans", &grown.app.id);

    println!();
    let steps: Vec<String> = growth
        .steps
        .iter()
        .map(|(label, took)| format!("{label} {:.1} s", took.as_secs_f64()))
        .collect();
    println!(
        "grown database: {USERS} users, {LICENSES} licenses (half used), {IP_BANS} ip bans (10 % ranges), {HARDWARE_ID_BANS} hardware-id bans in {:.1} s ({})",
        growth.total().as_secs_f64(),
        steps.join(", ")
    );
    empty.report("empty database");
    grown.report("grown database");
    users.report();
    bans.report();

    let ratio = grown.total().rate() / empty.total().rate();
    println!(
        "ratio license_signups grown/empty = {ratio:.2} (goal >= {SIGN_UP_RATIO_GOAL}): {}",
        verdict(ratio >= SIGN_UP_RATIO_GOAL)
    );
    println!(
        "time_to_grow = {:.1} s (no goal)",
        growth.total().as_secs_f64()
    );
    users.goals();
    bans.goals();

    assert_eq!(
        users.items, user_rows,
        "the user walk lists every user once"
    );
    assert_eq!(bans.items, ban_rows, "the ban walk lists every ban once");
    assert_eq!(
        (
            postgres.times_analysed(&empty_db, "licenses"),
            postgres.times_analysed(&grown_db, "licenses")
        ),
        (0, 1),
        "the fresh codes were never analysed (the grown database once, after its growth)"
    );
    assert_eq!(users.out_of_order, 0, "users are listed newest first by id");
    assert_eq!(bans.out_of_order, 0, "bans are listed newest first by id");
}
