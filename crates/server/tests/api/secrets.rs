//! What must never be stored or logged in plaintext, after a full end-to-end run: secrets,
//! codes, passwords, tokens, the master key and the response signing private key.

use crate::helpers::{Backend, MASTER_KEY, OPERATOR_TOKEN, TestApp, captured_logs};
use crate::on_both_backends;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

on_both_backends!(no_secret_code_or_password_is_stored_or_logged_in_plaintext);

async fn no_secret_code_or_password_is_stored_or_logged_in_plaintext(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let password = "correct-horse-battery-staple";
    let body = json!({"username": "secretive", "password": password, "hardware_id": "hw-secret"});
    assert_eq!(app.sign_up(&creds, body).await.0, 200);
    let codes = app.mint(&creds, 2, Some(60)).await;
    assert_eq!(
        app.license_sign_up(&creds, json!({"code": codes[0], "hardware_id": "hw"}))
            .await
            .0,
        200
    );
    assert_eq!(app.license(&creds, &codes[0]).await.0, 200);
    assert_eq!(app.user(&creds, &codes[0]).await.0, 200);
    let login = json!({"credentials": {"code": codes[0]}, "hardware_id": "hw"});
    let (status, session) = crate::helpers::send(
        app.integration(&creds, "/api/integration/auth/login")
            .json(&login),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let token = session["session_token"].as_str().unwrap().to_owned();
    let context = app
        .client
        .get(app.url("/api/integration/app_context"))
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret)
        .bearer_auth(&token);
    assert_eq!(crate::helpers::send(context).await.0, 200);
    // Legacy auth: the same password and code in headers, on every call. Request signing:
    // its private key is shown once, and kept nowhere.
    let (status, settings) = crate::helpers::send(
        app.admin(&creds, reqwest::Method::PATCH, "/api/admin/settings")
            .json(&json!({"legacy_auth": true, "request_signing": true})),
    )
    .await;
    assert_eq!(status, 200);
    let request_private_key = settings["request_signing_private_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = crate::helpers::send(
        app.admin(&creds, reqwest::Method::PATCH, "/api/admin/settings")
            .json(&json!({"request_signing": false})),
    )
    .await;
    assert_eq!(status, 200);
    for (name, value) in [("x-api-license-code", codes[0].as_str())] {
        let legacy = app
            .client
            .get(app.url("/api/integration/app_context"))
            .header("x-api-key", &creds.api_key)
            .header("x-api-secret", &creds.api_secret)
            .header(name, value)
            .header("x-hardware-id", "hw");
        assert_eq!(crate::helpers::send(legacy).await.0, 200);
    }
    let by_password = app
        .client
        .get(app.url("/api/integration/app_context"))
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret)
        .header("x-api-username", "secretive")
        .header("x-api-password", password)
        .header("x-hardware-id", "hw-secret");
    // Signed up, never activated: refused, and the password still never logged.
    assert_eq!(crate::helpers::send(by_password).await.0, 403);
    assert_eq!(app.ban(&creds, "license", &codes[1]).await.0, 201);

    let db = app.db.store.connection();
    let statement = Statement::from_string(
        db.get_database_backend(),
        "SELECT password_hash FROM users WHERE username = 'secretive'",
    );
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    let hash: String = row.try_get("", "password_hash").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    // The response signing key is stored sealed: open it with the master key to look for
    // its plain form.
    let statement = Statement::from_string(
        db.get_database_backend(),
        "SELECT response_signing_private_key FROM applications",
    );
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    let sealed: Vec<u8> = row.try_get("", "response_signing_private_key").unwrap();
    let master = data_encoding::BASE64.decode(MASTER_KEY.as_bytes()).unwrap();
    let master = domain::crypto::MasterKey::from_bytes(&master).unwrap();
    let purpose = format!("response-signing:{}", creds.id);
    let private_key = master.open(&purpose, &sealed).unwrap();
    assert_eq!(private_key.len(), 32);

    let mut secrets = vec![
        creds.api_secret.clone(),
        creds.admin_api_key.clone(),
        password.to_owned(),
        token,
        MASTER_KEY.to_owned(),
        request_private_key,
        data_encoding::BASE64.encode(&private_key),
        data_encoding::HEXLOWER.encode(&private_key),
    ];
    for code in &codes {
        secrets.push(code.clone());
        secrets.push(code.replace('-', ""));
    }
    let dump = app.db.dump().await.unwrap();
    assert!(
        dump.contains(&creds.api_key),
        "the dump reads stored values"
    );
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(
        logs.contains("/api/admin/license/{code}"),
        "requests are logged by route pattern"
    );
    secrets.push(OPERATOR_TOKEN.to_owned());
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "stored in plaintext: {secret}"
        );
        assert!(
            !logs.contains(secret.as_str()),
            "logged in plaintext: {secret}"
        );
    }
}
