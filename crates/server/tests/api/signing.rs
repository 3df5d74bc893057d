//! Signed integration answers over HTTP, checked by the independent verifier in `rfc9421.rs`:
//! successes and errors verify; a changed byte, a changed status or an answer replayed to
//! another request do not; a rotated-out key keeps signing beside the new one.

use crate::helpers::{AppCredentials, Backend, OPERATOR_TOKEN, TestApp, send};
use crate::on_both_backends;
use crate::rfc9421::{Answer, SentRequest, verify};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    successes_and_refusals_are_signed_and_verify,
    a_changed_body_status_or_request_fails_verification,
    a_rotated_out_key_keeps_signing_until_its_deadline,
    signing_can_be_turned_off_and_bad_nonces_are_refused_signed,
);

/// An answer, kept whole to verify it.
struct Exchange {
    method: &'static str,
    path: String,
    nonce: Option<String>,
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Exchange {
    fn verify_with(&self, label: &str, key: &str, key_id: &str) -> Result<(), String> {
        let request = SentRequest {
            method: self.method,
            path: &self.path,
            nonce: self.nonce.as_deref(),
            signature: None,
        };
        let answer = Answer {
            status: self.status,
            headers: &self.headers,
            body: &self.body,
        };
        verify(label, key, key_id, &request, &answer)
    }

    fn verify(&self, app: &AppCredentials) -> Result<(), String> {
        self.verify_with(
            "latchkey",
            &app.response_signing_public_key,
            &app.response_signing_key_id,
        )
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn call(
    app: &TestApp,
    creds: &AppCredentials,
    method: &'static str,
    path: &str,
    nonce: Option<&str>,
    body: Option<Value>,
) -> Exchange {
    let method_value = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app
        .client
        .request(method_value, app.url(path))
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret);
    if let Some(nonce) = nonce {
        request = request.header("Latchkey-Nonce", nonce);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    Exchange {
        method,
        path: path.to_owned(),
        nonce: nonce.map(str::to_owned),
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

const NONCE: &str = "n0nce-0123456789abcdef";

async fn successes_and_refusals_are_signed_and_verify(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.limits.enabled = true;
        settings.limits.failed_attempts_per_minute = 1;
    })
    .await;
    let creds = app.create_app(false).await;
    let sign_up = |body: Value| {
        call(
            &app,
            &creds,
            "POST",
            "/api/integration/sign_up",
            Some(NONCE),
            Some(body),
        )
    };

    let ok = sign_up(json!({"username": "signed_user", "password": "secure_password123"})).await;
    assert_eq!(ok.status, 200);
    ok.verify(&creds).unwrap();
    let without_nonce = call(
        &app,
        &creds,
        "POST",
        "/api/integration/sign_up",
        None,
        Some(json!({"username": "other_user", "password": "secure_password123"})),
    )
    .await;
    assert_eq!(without_nonce.status, 200);
    without_nonce.verify(&creds).unwrap();

    // Refused before the credentials were looked at (the body extractor failed first):
    // still signed, since the credentials are good.
    for (content_type, body, status) in [
        ("application/json", "{not json", 422),
        ("text/plain", "hello", 415),
    ] {
        let response = app
            .client
            .post(app.url("/api/integration/sign_up"))
            .header("x-api-key", &creds.api_key)
            .header("x-api-secret", &creds.api_secret)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let refused = Exchange {
            method: "POST",
            path: "/api/integration/sign_up".into(),
            nonce: None,
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        };
        assert_eq!(refused.status, status);
        refused.verify(&creds).unwrap();
    }

    let invalid = sign_up(json!({"username": "x", "password": "secure_password123"})).await;
    assert_eq!(
        (invalid.status, invalid.json()["code"].clone()),
        (422, json!("validation_failed"))
    );
    invalid.verify(&creds).unwrap();

    let login = |password: &'static str| {
        call(
            &app,
            &creds,
            "POST",
            "/api/integration/auth/login",
            Some(NONCE),
            Some(json!({"credentials": {"username": "signed_user", "password": password}})),
        )
    };
    let (wrong, limited) = (
        login("wrong_password1").await,
        login("wrong_password2").await,
    );
    assert_eq!(
        (wrong.status, wrong.json()["code"].clone()),
        (401, json!("invalid_credentials"))
    );
    wrong.verify(&creds).unwrap();
    assert_eq!(
        limited.status,
        429,
        "{}",
        String::from_utf8_lossy(&limited.body)
    );
    limited.verify(&creds).unwrap();

    let ban = send(
        app.admin(&creds, Method::POST, "/api/admin/bans")
            .json(&json!({"type": "ip", "value": "127.0.0.1"})),
    )
    .await;
    assert_eq!(ban.0, 201);
    let banned = sign_up(json!({"username": "third_user", "password": "secure_password123"})).await;
    assert_eq!(
        (banned.status, banned.json()["code"].clone()),
        (403, json!("banned"))
    );
    banned.verify(&creds).unwrap();
}

async fn a_changed_body_status_or_request_fails_verification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let body = json!({"username": "tampered", "password": "secure_password123"});
    let mut answer = call(
        &app,
        &creds,
        "POST",
        "/api/integration/sign_up",
        Some(NONCE),
        Some(body),
    )
    .await;
    answer.verify(&creds).unwrap();

    let last = answer.body.len() - 2;
    answer.body[last] ^= 0x01;
    assert!(
        answer
            .verify(&creds)
            .unwrap_err()
            .contains("content-digest")
    );
    answer.body[last] ^= 0x01;

    answer.status = 201;
    assert!(answer.verify(&creds).is_err(), "another status");
    answer.status = 200;

    answer.nonce = Some("another-nonce-0123456789".into());
    assert!(
        answer.verify(&creds).is_err(),
        "replayed to a request with another nonce"
    );
    answer.nonce = None;
    assert!(
        answer.verify(&creds).is_err(),
        "replayed to a request without a nonce"
    );
    answer.nonce = Some(NONCE.into());
    answer.path = "/api/integration/auth/login".into();
    assert!(answer.verify(&creds).is_err(), "replayed to another path");
    answer.path = "/api/integration/sign_up".into();
    answer.verify(&creds).unwrap();

    let other = app.create_app(false).await;
    assert!(
        answer
            .verify_with(
                "latchkey",
                &other.response_signing_public_key,
                &creds.response_signing_key_id
            )
            .is_err(),
        "another application's key"
    );
}

async fn a_rotated_out_key_keeps_signing_until_its_deadline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let rotate = |seconds: i64| {
        send(
            app.client
                .post(app.url(&format!("/api/operator/applications/{}/rotate", creds.id)))
                .bearer_auth(OPERATOR_TOKEN)
                .json(&json!({"which": "response_signing_key", "old_valid_for_seconds": seconds})),
        )
    };
    let (status, rotated) = rotate(3600).await;
    assert_eq!(status, 200, "{rotated}");
    let new_key = rotated["value"].as_str().unwrap().to_owned();
    assert_eq!(rotated["response_signing_public_key"], new_key);
    let new_id = rotated["response_signing_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_key, creds.response_signing_public_key);

    let context = call(
        &app,
        &creds,
        "GET",
        "/api/integration/app_context",
        Some(NONCE),
        None,
    )
    .await;
    assert_eq!(context.status, 401);
    context.verify_with("latchkey", &new_key, &new_id).unwrap();
    context
        .verify_with(
            "latchkey-previous",
            &creds.response_signing_public_key,
            &creds.response_signing_key_id,
        )
        .unwrap();

    let (_, settings) = send(app.admin(&creds, Method::GET, "/api/admin/settings")).await;
    assert_eq!(settings["response_signing_key_id"], new_id);

    // Rotating again with no overlap: only the newest key signs.
    let (_, again) = rotate(0).await;
    let answer = call(
        &app,
        &creds,
        "GET",
        "/api/integration/app_context",
        None,
        None,
    )
    .await;
    let newest = again["value"].as_str().unwrap();
    answer
        .verify_with(
            "latchkey",
            newest,
            again["response_signing_key_id"].as_str().unwrap(),
        )
        .unwrap();
    assert!(
        !answer.headers["signature"]
            .to_str()
            .unwrap()
            .contains("latchkey-previous")
    );
}

async fn signing_can_be_turned_off_and_bad_nonces_are_refused_signed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let get = |nonce| {
        call(
            &app,
            &creds,
            "GET",
            "/api/integration/app_context",
            nonce,
            None,
        )
    };

    let (equals, long) = ("=".repeat(20), "a".repeat(129));
    for bad in [
        "short",
        "has spaces in it 0123",
        equals.as_str(),
        long.as_str(),
    ] {
        let refused = get(Some(bad)).await;
        assert_eq!(refused.status, 422, "{bad}");
        assert_eq!(refused.json()["field"], "Latchkey-Nonce");
        // Signed, without the nonce it refused.
        let mut unbound = refused;
        unbound.nonce = None;
        unbound.verify(&creds).unwrap();
    }

    let mut unknown = creds.clone();
    unknown.api_secret = "lk_sec_wrong".into();
    let anonymous = call(
        &app,
        &unknown,
        "GET",
        "/api/integration/app_context",
        None,
        None,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous.headers.get("signature").is_none(),
        "no application, so no key to sign with"
    );

    let (status, settings) = send(
        app.admin(&creds, Method::PATCH, "/api/admin/settings")
            .json(&json!({"response_signing": false})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), settings["response_signing"].clone()),
        (200, json!(false))
    );
    let unsigned = get(Some(NONCE)).await;
    assert_eq!(unsigned.status, 401);
    assert!(unsigned.headers.get("signature").is_none());
    assert!(unsigned.headers.get("signature-input").is_none());
}
