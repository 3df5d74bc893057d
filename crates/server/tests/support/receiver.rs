//! A real HTTP receiver for webhook tests: it records every request, answers as scripted
//! (200 once the script runs out), and verifies signatures with the `standardwebhooks`
//! crate, an implementation independent of Latchkey's.
#![allow(dead_code)] // each test binary and bench uses its own part

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Never answers: the request stays in flight until the sender gives up or dies.
    Hang,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Verifies the signature with `secret` (`whsec_…`) as a Standard Webhooks receiver does.
    pub fn verify(&self, secret: &str) -> Result<(), standardwebhooks::WebhookError> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in [
            ("webhook-id", &self.id),
            ("webhook-timestamp", &self.timestamp),
            ("webhook-signature", &self.signature),
        ] {
            headers.insert(name, value.parse().expect("a header value"));
        }
        standardwebhooks::Webhook::new(secret)?.verify(&self.body, &headers)
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    arrived: Notify,
}

pub struct Receiver {
    pub url: String,
    state: Arc<State>,
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    state.received.lock().unwrap().push(Received {
        id: header(&req, "webhook-id"),
        timestamp: header(&req, "webhook-timestamp"),
        signature: header(&req, "webhook-signature"),
        body: body.to_vec(),
    });
    state.arrived.notify_waiters();
    let reply = state.script.lock().unwrap().pop_front();
    match reply.unwrap_or(Reply::Status(200)) {
        Reply::Status(status) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a status"))
                .body(format!("answered {status}"))
        }
        Reply::Hang => std::future::pending().await,
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("the receiver binds");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            state,
        }
    }

    /// The next answers, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// What a receiver that drops duplicates by `webhook-id` kept.
    pub fn unique_ids(&self) -> HashSet<String> {
        self.received().into_iter().map(|r| r.id).collect()
    }

    /// Waits, up to 30 s, until `count` requests have arrived; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let arrived = self.state.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::timeout_at(deadline, arrived)
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "{} of {count} webhook requests arrived in 30 s",
                        received.len()
                    )
                });
        }
    }
}
