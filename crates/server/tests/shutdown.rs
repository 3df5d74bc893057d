//! SIGTERM on a running `latchkey serve`, with a request in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "support/eventually.rs"]
mod eventually;

use eventually::eventually;

const TOKEN: &str = "shutdown-test-token";

#[tokio::test]
async fn sigterm_turns_readiness_503_lets_the_request_in_flight_finish_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .current_dir(dir.path())
        .env("LATCHKEY__HTTP__BIND", &address)
        .env("LATCHKEY__OPERATOR__TOKEN", TOKEN)
        .env("LATCHKEY__HTTP__DRAIN_DELAY_MS", "1000")
        .env("LATCHKEY__HTTP__SHUTDOWN_TIMEOUT_SECS", "10")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let readyz = format!("http://{address}/readyz");
    let status = async || {
        client
            .get(&readyz)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok()
    };
    eventually("the server is ready", async || status().await == Some(200)).await;

    let created: serde_json::Value = client
        .post(format!("http://{address}/api/operator/applications"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "drain", "device_authentication": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = r#"{"username": "in_flight", "password": "secure_password123"}"#;
    let head = format!(
        "POST /api/integration/sign_up HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nx-api-key: {}\r\nx-api-secret: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        created["api_key"].as_str().unwrap(),
        created["api_secret"].as_str().unwrap(),
        body.len()
    );
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut in_flight = TcpStream::connect(&address).await.unwrap();
    in_flight
        .write_all(format!("{head}{first_half}").as_bytes())
        .await
        .unwrap();

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually("readiness turns 503", async || status().await == Some(503)).await;
    eventually("new connections are refused", async || {
        TcpStream::connect(&address).await.is_err()
    })
    .await;

    in_flight.write_all(second_half.as_bytes()).await.unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("in_flight"), "{response}");

    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}
