//! Signed requests over HTTP, signed by a client written here from RFC 9421: a good request
//! passes once, and a replay (also through a second instance on the same PostgreSQL), a stale
//! `created`, a wrong key and a body changed after signing are refused with their codes.

use crate::helpers::{AppCredentials, Backend, TestApp, assert_error, send, settings};
use crate::on_both_backends;
use data_encoding::BASE64;
use ed25519_dalek::{Signer as _, SigningKey};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

on_both_backends!(
    a_signed_request_passes_once_and_unsigned_stale_forged_or_changed_ones_do_not,
    a_rotated_request_key_keeps_working_until_its_deadline,
);

/// Signs `body` for `method` `path_and_query` as the vendor's program would.
struct Client<'a> {
    app: &'a TestApp,
    creds: &'a AppCredentials,
    key: SigningKey,
    key_id: String,
}

impl Client<'_> {
    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        created: i64,
        nonce: &str,
    ) -> RequestBuilder {
        let body = body.map(|body| serde_json::to_vec(body).unwrap());
        let digest = body
            .as_ref()
            .map(|body| format!("sha-256=:{}:", BASE64.encode(&Sha256::digest(body))));
        let mut components = vec![
            ("@method", method.as_str().to_owned()),
            ("@path", path.to_owned()),
            ("@query", "?".to_owned()),
        ];
        if let Some(digest) = &digest {
            components.push(("content-digest", digest.clone()));
        }
        components.push(("x-api-key", self.creds.api_key.clone()));
        let names: Vec<String> = components
            .iter()
            .map(|(name, _)| format!("\"{name}\""))
            .collect();
        let params = format!(
            "({});created={created};nonce=\"{nonce}\";keyid=\"{}\";alg=\"ed25519\";tag=\"latchkey-request-v1\"",
            names.join(" "),
            self.key_id
        );
        let mut base = String::new();
        for (name, value) in &components {
            base.push_str(&format!("\"{name}\": {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {params}"));
        let signature = BASE64.encode(&self.key.sign(base.as_bytes()).to_bytes());
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .header("x-api-key", &self.creds.api_key)
            .header("x-api-secret", &self.creds.api_secret)
            .header("signature-input", format!("latchkey={params}"))
            .header("signature", format!("latchkey=:{signature}:"));
        if let (Some(body), Some(digest)) = (body, digest) {
            request = request
                .header("content-digest", digest)
                .header("content-type", "application/json")
                .body(body);
        }
        request
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn signing_key(private_key: &str) -> SigningKey {
    let seed: [u8; 32] = BASE64
        .decode(private_key.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    SigningKey::from_bytes(&seed)
}

/// Turns request signing on; the key pair it makes, as the settings answer shows it once.
async fn require_signed_requests<'a>(app: &'a TestApp, creds: &'a AppCredentials) -> Client<'a> {
    let (status, settings) = send(
        app.admin(creds, Method::PATCH, "/api/admin/settings")
            .json(&json!({"request_signing": true})),
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["request_signing"], true);
    let private_key = settings["request_signing_private_key"].as_str().unwrap();
    let (_, again) = send(app.admin(creds, Method::GET, "/api/admin/settings")).await;
    assert!(
        again.get("request_signing_private_key").is_none(),
        "shown once"
    );
    Client {
        app,
        creds,
        key: signing_key(private_key),
        key_id: settings["request_signing_key_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

async fn a_signed_request_passes_once_and_unsigned_stale_forged_or_changed_ones_do_not(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let client = require_signed_requests(&app, &creds).await;
    let body = json!({"username": "signed_caller", "password": "secure_password123"});
    let sign_up = "/api/integration/sign_up";

    let unsigned = send(app.integration(&creds, sign_up).json(&body)).await;
    assert_error(&unsigned, 401, "missing_signature");

    let good = || {
        client.request(
            Method::POST,
            sign_up,
            Some(&body),
            now(),
            "nonce-0000000000000001",
        )
    };
    let (status, user) = send(good()).await;
    assert_eq!(status, 200, "{user}");
    assert_error(&send(good()).await, 401, "replayed_request");

    let stale = client.request(
        Method::POST,
        sign_up,
        Some(&body),
        now() - 60,
        "nonce-0000000000000002",
    );
    assert_error(&send(stale).await, 401, "stale_signature");
    let future = client.request(
        Method::POST,
        sign_up,
        Some(&body),
        now() + 60,
        "nonce-0000000000000003",
    );
    assert_error(&send(future).await, 401, "stale_signature");

    let forger = Client {
        key: SigningKey::from_bytes(&[9; 32]),
        ..client
    };
    let forged = forger.request(
        Method::POST,
        sign_up,
        Some(&body),
        now(),
        "nonce-0000000000000004",
    );
    assert_error(&send(forged).await, 401, "invalid_signature");

    // A body changed after signing: the signature covers the digest the body no longer has.
    let creds2 = app.create_app(false).await;
    let honest = require_signed_requests(&app, &creds2).await;
    let signed = honest
        .request(
            Method::POST,
            sign_up,
            Some(&body),
            now(),
            "nonce-0000000000000005",
        )
        .build()
        .unwrap();
    let mut changed = signed;
    let other =
        serde_json::to_vec(&json!({"username": "someone_else", "password": "secure_password123"}))
            .unwrap();
    *changed.body_mut() = Some(other.into());
    let answer = app.client.execute(changed).await.unwrap();
    assert_eq!(answer.status(), 401);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["code"], "invalid_signature");

    // The nonce of a refused request was not spent: signed properly, it passes.
    let retried = honest.request(
        Method::POST,
        sign_up,
        Some(&json!({"username": "after_refusal", "password": "secure_password123"})),
        now(),
        "nonce-0000000000000005",
    );
    assert_eq!(send(retried).await.0, 200);

    // A request without a body covers no digest.
    let context = honest.request(
        Method::GET,
        "/api/integration/app_context",
        None,
        now(),
        "nonce-0000000000000006",
    );
    assert_error(&send(context).await, 401, "invalid_session");
}

async fn a_rotated_request_key_keeps_working_until_its_deadline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let old = require_signed_requests(&app, &creds).await;
    let (status, rotated) = send(
        app.client
            .post(app.url(&format!("/api/operator/applications/{}/rotate", creds.id)))
            .bearer_auth(crate::helpers::OPERATOR_TOKEN)
            .json(&json!({"which": "request_signing_key", "old_valid_for_seconds": 3600})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new = Client {
        app: &app,
        creds: &creds,
        key: signing_key(rotated["value"].as_str().unwrap()),
        key_id: rotated["request_signing_key_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    assert_ne!(new.key_id, old.key_id);
    for (client, nonce) in [
        (&old, "nonce-old-0000000000001"),
        (&new, "nonce-new-0000000000001"),
    ] {
        let request = client.request(
            Method::GET,
            "/api/integration/app_context",
            None,
            now(),
            nonce,
        );
        assert_error(&send(request).await, 401, "invalid_session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_accepted_by_one_instance_is_a_replay_on_another() {
    let first = TestApp::spawn(Backend::Postgres).await;
    let creds = first.create_app(false).await;
    let client = require_signed_requests(&first, &creds).await;
    let second = server::Server::build(&settings(&first.db.url))
        .await
        .unwrap();
    let second_base = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run());

    let body = json!({"username": "two_instances", "password": "secure_password123"});
    let request = client
        .request(
            Method::POST,
            "/api/integration/sign_up",
            Some(&body),
            now(),
            "nonce-shared-000000000001",
        )
        .build()
        .unwrap();
    let mut replay = request.try_clone().unwrap();
    let (status, _) = send_built(&first, request).await;
    assert_eq!(status, 200);
    let path = replay.url().path().to_owned();
    *replay.url_mut() = reqwest::Url::parse(&format!("{second_base}{path}")).unwrap();
    let (status, answer) = send_built(&first, replay).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (401, json!("replayed_request"))
    );
}

async fn send_built(app: &TestApp, request: reqwest::Request) -> (u16, Value) {
    let response = app.client.execute(request).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
