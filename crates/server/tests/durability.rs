//! Nothing lost: `latchkey serve` killed with SIGKILL right after a change commits, and with
//! its delivery in flight, then started again. A receiver that drops duplicates by
//! `webhook-id` gets each event exactly once, and every event arrives at least once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/eventually.rs"]
mod eventually;
#[path = "support/receiver.rs"]
mod receiver;

use adapters_postgres::testing::empty_postgres;
use eventually::eventually;
use receiver::{Receiver, Reply};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const TOKEN: &str = "durability-test-token";

struct Latchkey {
    dir: tempfile::TempDir,
    database_url: String,
    address: String,
    client: reqwest::Client,
}

impl Latchkey {
    fn new(database_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("latchkey.db").display()));
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            dir,
            database_url,
            address: format!("127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    /// Starts the binary (the master key it makes on first start stays in its folder) and
    /// waits until it is ready.
    async fn start(&self) -> Child {
        let child = command(self.dir.path(), &self.database_url, &self.address)
            .spawn()
            .unwrap();
        let readyz = format!("http://{}/readyz", self.address);
        eventually("the server is ready", async || {
            self.client
                .get(&readyz)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        child
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

fn command(dir: &Path, database_url: &str, address: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .arg("serve")
        .current_dir(dir)
        .env("LATCHKEY__DATABASE__URL", database_url)
        .env("LATCHKEY__HTTP__BIND", address)
        .env("LATCHKEY__OPERATOR__TOKEN", TOKEN)
        .env("LATCHKEY__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
        // A claim held by a killed process is taken again this soon.
        .env("LATCHKEY__WEBHOOKS__LEASE_SECONDS", "2")
        .env("LATCHKEY__WEBHOOKS__POLL_INTERVAL_MS", "100")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn sigkill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn sign_up(server: &Latchkey, app: &Value, username: &str) -> String {
    let response = server
        .client
        .post(server.url("/api/integration/sign_up"))
        .header("x-api-key", app["api_key"].as_str().unwrap())
        .header("x-api-secret", app["api_secret"].as_str().unwrap())
        .json(&json!({"username": username, "password": "secure_password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    user["id"].as_str().unwrap().to_owned()
}

async fn events_of(receiver: &Receiver, user: &str) -> usize {
    receiver
        .received()
        .iter()
        .filter(|message| message.json()["data"]["target"]["id"] == user)
        .count()
}

async fn a_kill_after_commit_or_mid_send_loses_nothing_and_duplicates_share_an_id(
    database_url: Option<String>,
) {
    let server = Latchkey::new(database_url);
    let receiver = Receiver::start().await;
    receiver.script([Reply::Hang]);
    let child = server.start().await;
    let app: Value = server
        .client
        .post(server.url("/api/operator/applications"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "durable", "device_authentication": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_key = app["admin_api_key"].as_str().unwrap();
    let endpoint: Value = server
        .client
        .post(server.url("/api/admin/webhooks"))
        .bearer_auth(admin_key)
        .json(&json!({"url": receiver.url, "event_types": ["user.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();

    // Killed with the delivery in flight: the receiver holds the request open.
    let in_flight = sign_up(&server, &app, "in_flight").await;
    receiver.wait_for(1).await;
    sigkill(child);
    let child = server.start().await;
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[0].id, received[1].id,
        "the resend keeps its webhook-id"
    );
    received[1].verify(&secret).unwrap();

    // Killed the moment the change committed, wherever its delivery was.
    let just_committed = sign_up(&server, &app, "just_committed").await;
    sigkill(child);
    let child = server.start().await;
    eventually("the second event arrives", async || {
        events_of(&receiver, &just_committed).await >= 1
    })
    .await;

    let deliveries = format!(
        "/api/admin/webhooks/{}/deliveries",
        endpoint["id"].as_str().unwrap()
    );
    eventually("both deliveries are recorded as sent", async || {
        let listed: Value = server
            .client
            .get(server.url(&deliveries))
            .bearer_auth(admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let all = listed["deliveries"].as_array().unwrap().clone();
        all.len() == 2 && all.iter().all(|d| d["state"] == "succeeded")
    })
    .await;
    assert_eq!(
        receiver.unique_ids().len(),
        2,
        "deduped: each event exactly once"
    );
    assert!(events_of(&receiver, &in_flight).await >= 1);
    assert!(events_of(&receiver, &just_committed).await >= 1);
    for message in receiver.received() {
        message.verify(&secret).unwrap();
    }
    sigkill(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_kill_loses_no_event() {
    a_kill_after_commit_or_mid_send_loses_nothing_and_duplicates_share_an_id(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_kill_loses_no_event() {
    let url = empty_postgres().await.unwrap();
    a_kill_after_commit_or_mid_send_loses_nothing_and_duplicates_share_an_id(Some(url)).await;
}
