//! Whether every console page renders within 50 ms with a million users stored (issue 14's
//! quality bar), with the release binary on PostgreSQL:
//!
//! - a database grown by [`support::grow`] (1,000,000 users, 1,000,000 licenses, 200,000
//!   bans) under one application;
//! - an operator made by `latchkey operators create --password-stdin`, as a vendor makes one;
//! - signed in over HTTP like a browser without JavaScript (the sign-in form's hidden `csrf`
//!   field and its cookie, then the session cookie);
//! - then each page [`REPEATS`] times after one untimed warm-up request; per page the median
//!   and the slowest, in ms of wall time on loopback from sending the request to the last
//!   byte of the body, against the goal. A page the console does not have yet (404) is listed
//!   as absent, not timed.
//!
//! The cookies are kept by hand, not by reqwest's cookie store: the console's cookies are
//! `__Host-` and `Secure`, which a cookie store rightly sends only over HTTPS, and the bench
//! talks plain HTTP on loopback.
//!
//! Goals are reported (PASS/MISS), not asserted; every timed page must answer 200. Run with
//! `make bench` or `cargo bench -p server --bench console`. Needs PostgreSQL and `psql`, like
//! `scale` (`BENCH_PGHOST`, `BENCH_PGPORT`, `BENCH_PGUSER`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;
use support::grow::{USERS, grow};
use support::{MASTER_KEY, Postgres, create_app, percentile, start};

/// Timed requests per page, after one warm-up.
const REPEATS: usize = 25;
const PAGE_MS_GOAL: f64 = 50.0;

const EMAIL: &str = "bench-owner@example.com";
const PASSWORD: &str = "a long bench password";

/// A browser without JavaScript: its cookies, no automatic redirects.
struct Console {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// One answer: status, `Location`, body, and the wall time until the body was read, in ms.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
    ms: f64,
}

impl Console {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        pairs.join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let started = Instant::now();
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        for line in headers.get_all(SET_COOKIE) {
            let line = line.to_str().unwrap();
            let (name, value) = line.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || line.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let location = headers
            .get(LOCATION)
            .map(|value| value.to_str().unwrap().to_owned());
        Answer {
            status,
            location,
            body,
            ms,
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Opens the sign-in form and posts it with its token, from this origin.
    async fn sign_in(&mut self) {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK, "the sign-in form");
        let csrf = hidden(&form.body, "csrf").expect("the sign-in form's csrf field");
        let request = self
            .http
            .post(format!("{}/console/login", self.base))
            .header(ORIGIN, &self.base)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", EMAIL),
                ("password", PASSWORD),
            ]);
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("/console"));
    }
}

/// The value of the hidden field `name` in `html`.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The first link in `html` whose target starts with `prefix` and goes further.
fn link(html: &str, prefix: &str) -> Option<String> {
    let marker = format!("href=\"{prefix}");
    let start = html.find(&marker)? + "href=\"".len();
    let end = html[start..].find('"')?;
    let target = &html[start..start + end];
    (target.len() > prefix.len()).then(|| target.replace("&amp;", "&"))
}

/// `latchkey operators create`, as a vendor runs it, on the bench database.
fn create_operator(database_url: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["operators", "create", "--email", EMAIL, "--password-stdin"])
        .env("LATCHKEY__DATABASE__URL", database_url)
        .env("LATCHKEY__SECRETS__MASTER_KEY", MASTER_KEY)
        .env("LATCHKEY__LOG__LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "operators create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One page's timings, or why it was not timed.
struct Timed {
    label: String,
    path: String,
    /// Sorted, in ms; empty when the page is absent.
    ms: Vec<f64>,
    cold: f64,
    bytes: usize,
}

impl Timed {
    fn median(&self) -> f64 {
        percentile(&self.ms, 0.5)
    }

    fn max(&self) -> f64 {
        self.ms.last().copied().unwrap_or(f64::NAN)
    }
}

/// `path` once untimed (its first answer's time is kept as `cold`), then [`REPEATS`] times.
async fn time_page(console: &mut Console, label: &str, path: &str) -> Timed {
    let first = console.get(path).await;
    let mut timed = Timed {
        label: label.to_owned(),
        path: path.to_owned(),
        ms: Vec::new(),
        cold: first.ms,
        bytes: first.body.len(),
    };
    if first.status == StatusCode::NOT_FOUND {
        return timed;
    }
    assert_eq!(first.status, StatusCode::OK, "GET {path}: {}", first.body);
    for _ in 0..REPEATS {
        let answer = console.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "GET {path}");
        timed.ms.push(answer.ms);
    }
    timed.ms.sort_by(f64::total_cmp);
    timed
}

/// Mints one license through the admin API, to have a real code to search for (the grown
/// ones are stored as digests only).
async fn mint_one(client: &reqwest::Client, base: &str, admin_key: &str) -> String {
    let response = client
        .post(format!("{base}/api/admin/licenses"))
        .bearer_auth(admin_key)
        .json(&serde_json::json!({"count": 1, "minutes": 43200}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["licenses"][0]["code"].as_str().unwrap().to_owned()
}

/// A grown user's id, through the admin API.
async fn user_id(client: &reqwest::Client, base: &str, admin_key: &str, name: &str) -> String {
    let response = client
        .get(format!("{base}/api/admin/user/{name}"))
        .bearer_auth(admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the user {name}");
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::main]
async fn main() {
    let postgres = Postgres::from_env();
    let client = reqwest::Client::new();
    let database = postgres.create(&format!("latchkey_bench_{}_console", std::process::id()));
    let url = postgres.url(&database.name);
    let server = start(&client, Some(&url)).await;
    let app = create_app(&client, &server).await;
    let growth = grow(&postgres, &database, &app.id);
    println!(
        "grown to {USERS} users, 1000000 licenses, 200000 bans in {:.1} s",
        growth.total().as_secs_f64()
    );
    create_operator(&url);
    let code = mint_one(&client, &server.base, &app.admin).await;
    let user = user_id(&client, &server.base, &app.admin, "user_500000").await;

    let mut console = Console::new(&server.base);
    console.sign_in().await;
    let id = &app.id;
    let base = format!("/console/apps/{id}");
    // The pages, as the screens name them; the user page is also found from the list's
    // first link when the list exists.
    let mut pages: Vec<(String, String)> = vec![
        ("applications".into(), "/console".into()),
        ("overview".into(), base.clone()),
        ("licenses".into(), format!("{base}/licenses")),
        (
            "licenses used".into(),
            format!("{base}/licenses?status=used"),
        ),
        (
            "licenses unused".into(),
            format!("{base}/licenses?status=unused"),
        ),
        (
            "licenses banned".into(),
            format!("{base}/licenses?status=banned"),
        ),
        (
            "license search".into(),
            format!("{base}/licenses?code={code}"),
        ),
        ("users".into(), format!("{base}/users")),
        ("user search".into(), format!("{base}/users?q=user_50")),
        ("user page".into(), format!("{base}/users/{user}")),
        ("bans".into(), format!("{base}/bans")),
        ("audit".into(), format!("{base}/audit")),
        ("settings".into(), format!("{base}/settings")),
        ("variables".into(), format!("{base}/variables")),
        ("webhooks".into(), format!("{base}/webhooks")),
        ("files".into(), format!("{base}/files")),
        ("account".into(), "/console/account".into()),
    ];
    let users_list = console.get(&format!("{base}/users")).await;
    if users_list.status == StatusCode::OK {
        if let Some(first) = link(&users_list.body, &format!("{base}/users/")) {
            pages.push(("user page (first listed)".into(), first));
        }
        if let Some(next) = link(&users_list.body, &format!("{base}/users?")) {
            pages.push(("users, second page".into(), next));
        }
    }
    let licenses_list = console.get(&format!("{base}/licenses")).await;
    if licenses_list.status == StatusCode::OK
        && let Some(next) = link(&licenses_list.body, &format!("{base}/licenses?"))
    {
        pages.push(("licenses, second page".into(), next));
    }

    let mut results = Vec::with_capacity(pages.len());
    for (label, path) in &pages {
        results.push(time_page(&mut console, label, path).await);
    }

    println!();
    println!(
        "console pages on a grown PostgreSQL database, {REPEATS} timed GETs each after one warm-up; wall time on loopback"
    );
    for page in &results {
        if page.ms.is_empty() {
            println!("{:<26} absent (404): {}", page.label, page.path);
            continue;
        }
        println!(
            "{:<26} median {:>6.2} ms  max {:>6.2} ms  cold {:>6.2} ms  {:>6} bytes  (goal <= {PAGE_MS_GOAL} ms): {}",
            page.label,
            page.median(),
            page.max(),
            page.cold,
            page.bytes,
            if page.max() <= PAGE_MS_GOAL {
                "PASS"
            } else {
                "MISS"
            },
        );
    }
    let timed: Vec<&Timed> = results.iter().filter(|page| !page.ms.is_empty()).collect();
    let slowest = timed
        .iter()
        .max_by(|a, b| a.max().total_cmp(&b.max()))
        .expect("at least one page");
    println!(
        "console_slowest_page = {:.2} ms ({}) (goal <= {PAGE_MS_GOAL} ms): {}",
        slowest.max(),
        slowest.label,
        if slowest.max() <= PAGE_MS_GOAL {
            "PASS"
        } else {
            "MISS"
        }
    );
}
