//! Whether Latchkey slows down as an application grows, on PostgreSQL, with the release binary:
//!
//! - license sign-ups/s on a database grown to 1,000,000 users, 1,000,000 licenses,
//!   100,000 IP bans and 100,000 hardware-id bans ÷ the same on an empty database; goal ≥ 0.9;
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
//! `BENCH_PGUSER`; default the local Unix socket, else 127.0.0.1; 5432, postgres, trust auth)
//! and `psql`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::abba::{BLOCK, BLOCKS, CLIENTS, Side, alternate, verdict};
use support::{Database, Postgres, create_app_with, percentile, start};

const USERS: u64 = 1_000_000;
const LICENSES: u64 = 1_000_000;
const IP_BANS: u64 = 100_000;
const HARDWARE_ID_BANS: u64 = 100_000;

const PAGE: usize = 200;
/// Repeats of the first and of the last page, whose medians are compared.
const REPEATS: usize = 7;

const SIGN_UP_RATIO_GOAL: f64 = 0.9;
const LAST_FIRST_GOAL: f64 = 1.5;
const PAGE_MS_GOAL: f64 = 20.0;

// --- growing the database ---------------------------------------------------------------

/// An argon2id hash in the server's format. Nobody signs in as a seeded user, so one hash
/// for all of them is enough to give the rows their real width.
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2hzYWx0$\
                             3nUOC6ZkvlUA7UZ5Lp1mDo6LJ5rMEsJ4jCbzrxo3e0Q";

/// A UUIDv7-shaped id for a row created at `at` (a `timestamptz` expression), its random bits
/// taken from `hex` (an expression of 32 hex digits): ordered by creation like the ids the
/// server makes, so that "newest first by id" means what it does in production.
fn uuid7(at: &str, hex: &str) -> String {
    format!(
        "(lpad(to_hex((extract(epoch FROM {at}) * 1000)::bigint), 12, '0') || '7' \
         || substr({hex}, 1, 3) || substr('89ab', 1 + ascii({hex}) % 4, 1) \
         || substr({hex}, 4, 15))::uuid"
    )
}

/// What growing the database writes, and when its rows were created: the two years before
/// the run, one user and one license a minute, one ban every five minutes.
struct Seed<'a> {
    app: &'a str,
    /// Unix seconds of the start of the two years.
    epoch: u64,
}

impl Seed<'_> {
    /// When row `series` of a series one `every` apart was created.
    fn at(&self, series: &str, every: &str) -> String {
        format!(
            "(to_timestamp({}) + {series} * interval '{every}')",
            self.epoch
        )
    }

    /// User `n`'s id, the same in the users' rows and in the licenses they used.
    fn user_id() -> String {
        uuid7("at", "md5('user' || n)")
    }

    /// Half the users signed up with a license code (odd `n`, each with license `n`), half
    /// with a password; a tenth of the codes give lifetime access, the rest 30 days. Some
    /// password users bought time later. Addresses are spread over public IPv4 space.
    fn users(&self) -> String {
        let (app, at, id) = (self.app, self.at("n", "1 minute"), Self::user_id());
        format!(
            "INSERT INTO users (id, application_id, username, username_canonical, password_hash, \
                 credential_type, is_lifetime, active_until, signup_ip, last_ip, created_at) \
             SELECT {id}, '{app}', 'user_' || n, 'user_' || n, \
                 CASE WHEN n % 2 = 0 THEN '{PASSWORD_HASH}' END, \
                 CASE WHEN n % 2 = 0 THEN 'username_password' ELSE 'license_code' END, \
                 n % 10 = 1, \
                 CASE WHEN n % 10 <> 1 AND (n % 2 = 1 OR n % 4 = 0) \
                     THEN at + interval '30 days' END, \
                 format('%s.%s.%s.%s', 11 + n % 100, n / 100 % 256, n / 25600 % 256, 1 + n % 254), \
                 format('%s.%s.%s.%s', 11 + n % 97, n / 97 % 256, n / 24832 % 256, 1 + n % 253), \
                 at \
             FROM (SELECT n, {at} AS at FROM generate_series(1, {USERS}) AS n) AS s"
        )
    }

    /// License `n` was minted an hour before user `n` signed up; the odd ones are the ones
    /// those users redeemed, so half the licenses are used. Nobody redeems a seeded code, so
    /// any distinct 32 bytes do as the digest.
    fn licenses(&self) -> String {
        let (app, at, user) = (self.app, self.at("n", "1 minute"), Self::user_id());
        let id = uuid7("at - interval '1 hour'", "md5('license' || n)");
        format!(
            "INSERT INTO licenses (id, application_id, code_digest, minutes, activated_at, \
                 activated_by_user_id, created_at) \
             SELECT {id}, '{app}', sha256(('code-' || n)::bytea), \
                 CASE WHEN n % 10 <> 1 THEN 43200 END, \
                 CASE WHEN n % 2 = 1 THEN at END, \
                 CASE WHEN n % 2 = 1 THEN {user} END, \
                 at - interval '1 hour' \
             FROM (SELECT n, {at} AS at FROM generate_series(1, {LICENSES}) AS n) AS s"
        )
    }

    /// The ban columns but `kind`, `value` and `match_key`, from a series `k` created at `at`
    /// and a random hex `h`: a reason on most, and a tenth that expire (years from now).
    fn ban_select(&self, kind: &str) -> String {
        let app = self.app;
        format!(
            "SELECT {id}, '{app}', '{kind}', value, match_key, \
                 CASE k % 4 WHEN 0 THEN NULL WHEN 1 THEN 'chargeback' \
                     WHEN 2 THEN 'key shared on a forum' ELSE 'abuse report #' || k END, \
                 at, CASE WHEN k % 10 = 0 THEN at + interval '5 years' END",
            id = uuid7("at", "h"),
        )
    }

    /// 45 % single IPv4 addresses, 45 % single IPv6 addresses, 5 % IPv4 /24s and 5 % IPv6
    /// /48s, all distinct (`k` is spread over the octets or groups without collisions) and
    /// none covering 127.0.0.1, where the sign-ups come from. `value` is the canonical range
    /// as the server shows it, IPv6 in Rust's compressed form: single addresses have no zero
    /// group, so nothing compresses; a /48 ends in `::`.
    fn ip_bans(&self) -> String {
        let group = |i: usize| {
            format!(
                "to_hex(1 + ('x' || substr(h, {}, 4))::bit(16)::int % 65535)",
                4 * i - 3
            )
        };
        let v6_head = "to_hex(8192 + k % 4096) || ':' || to_hex(1 + k / 4096)";
        let v6_tail: Vec<String> = (3..=8).map(group).collect();
        format!(
            "INSERT INTO bans (id, application_id, kind, value, match_key, reason, created_at, \
                 expires_at) \
             {select} \
             FROM (SELECT k, at, h, value, 'ip:' || value || CASE WHEN value LIKE '%/%' THEN '' \
                     WHEN value LIKE '%:%' THEN '/128' ELSE '/32' END AS match_key \
                 FROM (SELECT k, {at} AS at, md5('ip ban' || k) AS h \
                     FROM generate_series(1, {IP_BANS}) AS k) AS series, \
                 LATERAL (SELECT CASE \
                     WHEN k % 20 < 9 THEN format('%s.%s.%s.%s', 11 + k % 100, \
                         k / 100 * 40503 % 16777216 / 65536, k / 100 * 40503 % 65536 / 256, \
                         k / 100 * 40503 % 256) \
                     WHEN k % 20 < 18 THEN {v6_head} || ':' || {v6_single} \
                     WHEN k % 20 = 18 THEN format('%s.%s.%s.0/24', 128 + k % 64, \
                         k / 64 * 2531 % 65536 / 256, k / 64 * 2531 % 256) \
                     ELSE {v6_head} || ':' || {v6_range} || '::/48' END AS value) AS ip) AS s",
            select = self.ban_select("ip"),
            at = self.at("k", "10 minutes"),
            v6_single = v6_tail.join(" || ':' || "),
            v6_range = v6_tail[0],
        )
    }

    /// What the server records before an application's first IP ban of each prefix length
    /// (`ip_ban_prefix_lengths`): the four lengths of [`Seed::ip_bans`], IPv4 /32 and /24,
    /// IPv6 /128 and /48.
    fn ip_ban_prefix_lengths(&self) -> String {
        format!(
            "INSERT INTO ip_ban_prefix_lengths (application_id, ipv6, prefix_len) \
             SELECT DISTINCT application_id, match_key LIKE 'ip:%:%', \
                 split_part(match_key, '/', 2)::smallint \
             FROM bans WHERE application_id = '{app}' AND kind = 'ip'",
            app = self.app,
        )
    }

    /// Hardware ids look like the hashes clients usually send; none is one the sign-ups use.
    fn hardware_id_bans(&self) -> String {
        format!(
            "INSERT INTO bans (id, application_id, kind, value, match_key, reason, created_at, \
                 expires_at) \
             {select} \
             FROM (SELECT k, at, h, h AS value, 'hardware_id:' || h AS match_key \
                 FROM (SELECT k, {at} AS at, md5('hardware id ban' || k) AS h \
                     FROM generate_series(1, {HARDWARE_ID_BANS}) AS k) AS series) AS s",
            select = self.ban_select("hardware_id"),
            // Between the IP bans, which come every ten minutes from the start.
            at = self.at("k", "10 minutes") + " + interval '5 minutes'",
        )
    }
}

/// How long each step of growing the database took.
struct Growth {
    steps: Vec<(&'static str, Duration)>,
}

impl Growth {
    fn total(&self) -> Duration {
        self.steps.iter().map(|(_, took)| *took).sum()
    }
}

/// Grows `database` (schema made and `app` created by the server) with plain `INSERT …
/// SELECT`s, as a bulk import would, then
///
/// - `VACUUM ANALYZE`: autovacuum would do the same shortly after such a load (where it is
///   on), and without it plans would be made on the statistics of empty tables, which is not
///   the state of a database that grew over two years;
/// - `CHECKPOINT`: the load wrote about a GB of WAL, and the checkpoint it triggers would
///   otherwise write it out during the sign-up blocks.
fn grow(postgres: &Postgres, database: &Database<'_>, app: &str) -> Growth {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let seed = Seed {
        app,
        epoch: now.as_secs() - 2 * 365 * 24 * 3600,
    };
    let vacuum = "VACUUM ANALYZE users, licenses, bans".to_owned();
    let steps = [
        ("users", seed.users(), Some(USERS)),
        ("licenses", seed.licenses(), Some(LICENSES)),
        ("ip bans", seed.ip_bans(), Some(IP_BANS)),
        (
            "ip ban prefix lengths",
            seed.ip_ban_prefix_lengths(),
            Some(4),
        ),
        (
            "hardware-id bans",
            seed.hardware_id_bans(),
            Some(HARDWARE_ID_BANS),
        ),
        ("vacuum analyze", vacuum, None),
        ("checkpoint", "CHECKPOINT".to_owned(), None),
    ];
    let steps = steps
        .into_iter()
        .map(|(label, sql, rows)| {
            let started = Instant::now();
            let output = postgres.psql(&database.name, &sql);
            if let Some(rows) = rows {
                assert_eq!(output.trim(), format!("INSERT 0 {rows}"), "seeding {label}");
            }
            (label, started.elapsed())
        })
        .collect();
    Growth { steps }
}

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
    assert_eq!(users.out_of_order, 0, "users are listed newest first by id");
    assert_eq!(bans.out_of_order, 0, "bans are listed newest first by id");
}
