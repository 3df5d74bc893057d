//! Files end to end, on both databases, against the local store and an S3 server (moto,
//! started by `make test`): uploads, the name's uniqueness, replacement by name, lists,
//! downloads (whole, ranged, encrypted and opened by the documented Python decryptor), the
//! signed answers' digests, deletion with the bytes, the size limit leaving nothing, and
//! who may download what.

use crate::helpers::{AppCredentials, Backend, TestApp, send};
use data_encoding::{BASE64, HEXLOWER};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::path::Path;

crate::on_both_backends!(
    files_round_trip_on_the_local_store,
    files_round_trip_on_s3,
    an_oversized_upload_is_413_and_leaves_nothing_on_the_local_store,
    an_oversized_upload_is_413_and_leaves_nothing_on_s3,
    downloads_follow_the_access_rules_and_bans,
);

/// Where a test server keeps its files' bytes.
enum Store {
    Local,
    S3 { endpoint: String, bucket: String },
}

impl Store {
    /// A fresh bucket on the test S3 server.
    async fn s3() -> Self {
        let endpoint = std::env::var("LATCHKEY_TEST_S3_ENDPOINT").expect(
            "LATCHKEY_TEST_S3_ENDPOINT names the test S3 server: run the tests through \
             `make test` (scripts/with-services.sh starts one)",
        );
        let bucket = format!("lk-{}", uuid::Uuid::new_v4().simple());
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "creating the test bucket");
        Self::S3 { endpoint, bucket }
    }

    async fn spawn(&self, backend: Backend, max_size_bytes: u64) -> TestApp {
        TestApp::spawn_with(backend, |settings| {
            settings.files.max_size_bytes = max_size_bytes;
            if let Self::S3 { endpoint, bucket } = self {
                settings.files.url = format!("s3://{bucket}/latchkey");
                settings.files.endpoint = Some(endpoint.clone());
            }
        })
        .await
    }

    /// How many objects hold bytes, and how many uploads are unfinished.
    async fn contents(&self, app: &TestApp) -> (usize, usize) {
        match self {
            Self::Local => {
                let mut found = 0;
                count_files(app.files_dir.path(), &mut found);
                (found, 0)
            }
            Self::S3 { endpoint, bucket } => {
                let list = |query: &str| {
                    let url = format!("{endpoint}/{bucket}?{query}");
                    async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
                };
                let objects = list("list-type=2").await.matches("<Key>").count();
                let uploads = list("uploads").await.matches("<UploadId>").count();
                (objects, uploads)
            }
        }
    }
}

fn count_files(dir: &Path, found: &mut usize) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            count_files(&path, found);
        } else {
            *found += 1;
        }
    }
}

/// `len` bytes that are not all alike.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from((i * 31 + usize::from(seed)) % 251).unwrap())
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    HEXLOWER.encode(&Sha256::digest(data))
}

fn upload_form(name: Option<&str>, is_public: bool, encrypted: bool, data: Vec<u8>) -> Form {
    let mut form = Form::new();
    if let Some(name) = name {
        form = form.text("name", name.to_owned());
    }
    form.text("is_public", is_public.to_string())
        .text("store_encrypted", encrypted.to_string())
        .part("file", Part::bytes(data).file_name("upload"))
}

async fn upload(
    app: &TestApp,
    creds: &AppCredentials,
    name: &str,
    is_public: bool,
    encrypted: bool,
    data: Vec<u8>,
) -> (StatusCode, Value) {
    send(
        app.admin(creds, Method::POST, "/api/admin/files")
            .multipart(upload_form(Some(name), is_public, encrypted, data)),
    )
    .await
}

/// A member's session: a license sign-up of `minutes`, then a sign-in with the code.
async fn member_session(app: &TestApp, creds: &AppCredentials, minutes: u32) -> (String, String) {
    let code = app.mint(creds, 1, Some(minutes)).await.remove(0);
    let (status, user) = app
        .license_sign_up(creds, json!({"code": code, "hardware_id": "files-device"}))
        .await;
    assert_eq!(status, 200, "{user}");
    let (status, session) = send(
        app.integration(creds, "/api/integration/auth/login")
            .json(&json!({"credentials": {"code": code}, "hardware_id": "files-device"})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    (
        session["session_token"].as_str().unwrap().to_owned(),
        user["id"].as_str().unwrap().to_owned(),
    )
}

/// `GET /api/integration/files/{id}/download`, with a session when one is given.
fn download_request(
    app: &TestApp,
    creds: &AppCredentials,
    id: &str,
    session: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = app
        .client
        .get(app.url(&format!("/api/integration/files/{id}/download")))
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret);
    match session {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// The answer's status, headers and bytes.
async fn fetch(
    request: reqwest::RequestBuilder,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The signed answer's `Content-Digest` is the digest of the bytes that came.
fn assert_digest_matches(headers: &reqwest::header::HeaderMap, body: &[u8]) {
    let expected = format!("sha-256=:{}:", BASE64.encode(&Sha256::digest(body)));
    assert_eq!(header(headers, "content-digest"), expected);
    assert!(headers.contains_key("signature"), "the answer is signed");
}

/// The decryption program of docs/files.md, run by Python's `cryptography`.
fn decrypt_with_python(key_hex: &str, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
    let python = std::env::var("LATCHKEY_TEST_PYTHON").expect(
        "LATCHKEY_TEST_PYTHON names a Python with `cryptography`: run the tests through \
         `make test` (scripts/with-services.sh prepares one)",
    );
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/files.md"))
        .unwrap();
    let script = docs
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/files.md holds the decryptor in a python block");
    let dir = tempfile::tempdir().unwrap();
    let (program, input, output) = (
        dir.path().join("decrypt.py"),
        dir.path().join("in"),
        dir.path().join("out"),
    );
    std::fs::write(&program, script).unwrap();
    std::fs::write(&input, ciphertext).unwrap();
    let run = std::process::Command::new(python)
        .arg(&program)
        .arg(key_hex)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    if run.status.success() {
        Ok(std::fs::read(&output).unwrap())
    } else {
        Err(String::from_utf8_lossy(&run.stderr).into_owned())
    }
}

#[test]
fn the_documented_decryptor_opens_the_test_vector_and_refuses_it_cut_or_flipped() {
    let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let vector = HEXLOWER
        .decode(b"4c4b4531630dcd2966c43366a0a1a2a3a4a5a63b003d7dd06d85b92303b143aafd9b2e3601c10143bb8ca919d1f94c6ea846043aa5")
        .unwrap();
    assert_eq!(
        decrypt_with_python(key, &vector).unwrap(),
        b"Latchkey files v1\n"
    );
    let mut flipped = vector.clone();
    flipped[25] ^= 1;
    assert!(decrypt_with_python(key, &flipped).is_err());
    assert!(decrypt_with_python(key, &vector[..19]).is_err(), "no chunk");
    let wrong_key = "ff".repeat(32);
    assert!(
        decrypt_with_python(&wrong_key, &vector)
            .unwrap_err()
            .contains("another key")
    );
}

async fn files_key(app: &TestApp, creds: &AppCredentials) -> String {
    let (status, settings) = send(app.admin(creds, Method::GET, "/api/admin/settings")).await;
    assert_eq!(status, 200);
    let key = settings["files_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64, "32 bytes in hex");
    key
}

async fn files_round_trip_on_the_local_store(backend: Backend) {
    files_round_trip(backend, Store::Local).await;
}

async fn files_round_trip_on_s3(backend: Backend) {
    files_round_trip(backend, Store::s3().await).await;
}

async fn files_round_trip(backend: Backend, store: Store) {
    let app = store.spawn(backend, 16 * 1024 * 1024).await;
    let creds = app.create_app(false).await;
    let plain = bytes(300_000, 1);
    let secret = bytes(200_000, 2);

    // Upload, and the name's uniqueness.
    let (status, tool) = upload(&app, &creds, "tool.zip", false, false, plain.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    assert_eq!(tool["name"], "tool.zip");
    assert_eq!(tool["size_bytes"], 300_000);
    assert_eq!(tool["sha256"], sha256_hex(&plain));
    assert_eq!(tool["is_public"], false);
    assert_eq!(tool["is_encrypted"], false);
    assert_eq!(tool["processing_status"], "COMPLETED");
    assert_eq!(tool["mime_type"], "application/zip");
    let (status, taken) = upload(&app, &creds, "tool.zip", true, false, vec![1]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(taken["code"], "file_name_taken");

    let (status, sealed) = upload(&app, &creds, "weights.bin", false, true, secret.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{sealed}");
    assert_eq!(sealed["is_encrypted"], true);
    // 19-byte header, four chunks' tags.
    assert_eq!(sealed["size_bytes"], 19 + 200_000 + 4 * 16);

    // Lists, newest first, by cursor; one file.
    let (_, page) = send(app.admin(&creds, Method::GET, "/api/admin/files?limit=1")).await;
    assert_eq!(page["files"][0]["name"], "weights.bin");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = send(app.admin(
        &creds,
        Method::GET,
        &format!("/api/admin/files?limit=1&cursor={cursor}"),
    ))
    .await;
    assert_eq!(rest["files"][0]["name"], "tool.zip");
    assert!(rest["next_cursor"].is_null());
    let tool_id = tool["id"].as_str().unwrap();
    let (status, one) =
        send(app.admin(&creds, Method::GET, &format!("/api/admin/files/{tool_id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(one, tool);

    // The vendor downloads the stored bytes, whole and in part.
    let admin_download = |id: &str| {
        app.admin(
            &creds,
            Method::GET,
            &format!("/api/admin/files/{id}/download"),
        )
    };
    let (status, headers, body) = fetch(admin_download(tool_id)).await;
    assert_eq!(status, 200);
    assert_eq!(body, plain);
    assert_eq!(header(&headers, "content-length"), "300000");
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert_eq!(
        header(&headers, "etag"),
        format!("\"{}\"", sha256_hex(&plain))
    );
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    let (status, headers, body) =
        fetch(admin_download(tool_id).header("range", "bytes=100-199")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, &plain[100..200]);
    assert_eq!(header(&headers, "content-range"), "bytes 100-199/300000");
    let (status, headers, _) =
        fetch(admin_download(tool_id).header("range", "bytes=300000-")).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&headers, "content-range"), "bytes */300000");

    // The program downloads them: whole, in part, encrypted; each answer signed over what came.
    let (session, _) = member_session(&app, &creds, 60).await;
    let (status, headers, body) =
        fetch(download_request(&app, &creds, tool_id, Some(&session))).await;
    assert_eq!(status, 200);
    assert_eq!(body, plain);
    assert_digest_matches(&headers, &body);
    let (status, headers, body) = fetch(
        download_request(&app, &creds, tool_id, Some(&session)).header("range", "bytes=-1000"),
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, &plain[299_000..]);
    assert_digest_matches(&headers, &body);
    let sealed_id = sealed["id"].as_str().unwrap();
    let (status, headers, ciphertext) = fetch(
        download_request(&app, &creds, sealed_id, Some(&session)).header("range", "bytes=0-9"),
    )
    .await;
    assert_eq!(
        status, 200,
        "an encrypted file is served whole, Range or not"
    );
    assert_eq!(header(&headers, "accept-ranges"), "none");
    assert_eq!(sha256_hex(&ciphertext), sealed["sha256"]);
    assert_eq!(
        decrypt_with_python(&files_key(&app, &creds).await, &ciphertext).unwrap(),
        secret,
        "Python's cryptography opens it with the application's files key"
    );

    // Replacement by name keeps the id; a new name is created.
    let replacement = bytes(1000, 3);
    let (status, replaced) = send(
        app.admin(&creds, Method::PUT, "/api/admin/files/by-name/tool.zip")
            .multipart(upload_form(None, true, false, replacement.clone())),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["id"], tool["id"]);
    assert_eq!(replaced["is_public"], true);
    assert_eq!(replaced["sha256"], sha256_hex(&replacement));
    let (_, _, body) = fetch(admin_download(tool_id)).await;
    assert_eq!(body, replacement);
    let (status, created) = send(
        app.admin(
            &creds,
            Method::PUT,
            "/api/admin/files/by-name/readme%20v2.txt",
        )
        .multipart(upload_form(None, true, false, b"hello".to_vec())),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "readme v2.txt");
    assert_eq!(created["mime_type"], "text/plain");

    // app_context lists what the member may download, by name.
    let (status, context) = send(
        app.client
            .get(app.url("/api/integration/app_context"))
            .header("x-api-key", &creds.api_key)
            .header("x-api-secret", &creds.api_secret)
            .bearer_auth(&session),
    )
    .await;
    assert_eq!(status, 200);
    let listed = &context["application"]["files"];
    let names: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("readme v2.txt"),
            json!("tool.zip"),
            json!("weights.bin")
        ]
    );
    assert_eq!(listed[2]["is_encrypted"], true);
    assert_eq!(listed[2]["sha256"], sealed["sha256"]);
    assert_eq!(listed[2]["id"], sealed["id"]);

    // Deletion removes the row and the bytes; replaced bytes went with their replacement.
    assert_eq!(store.contents(&app).await, (3, 0));
    let delete = || {
        app.admin(
            &creds,
            Method::DELETE,
            &format!("/api/admin/files/{sealed_id}"),
        )
    };
    assert_eq!(send(delete()).await.0, StatusCode::NO_CONTENT);
    let (status, gone) = send(delete()).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("file_not_found"))
    );
    let (status, _, _) = fetch(download_request(&app, &creds, sealed_id, Some(&session))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(store.contents(&app).await, (2, 0));
}

async fn an_oversized_upload_is_413_and_leaves_nothing_on_the_local_store(backend: Backend) {
    oversized_upload(backend, Store::Local).await;
}

async fn an_oversized_upload_is_413_and_leaves_nothing_on_s3(backend: Backend) {
    oversized_upload(backend, Store::s3().await).await;
}

async fn oversized_upload(backend: Backend, store: Store) {
    const LIMIT: u64 = 100_000;
    let app = store.spawn(backend, LIMIT).await;
    let creds = app.create_app(false).await;
    // Declared too long: refused before a byte is read.
    let (status, refused) = upload(&app, &creds, "big.bin", false, false, bytes(300_000, 4)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused["code"], "file_too_large");
    // No length declared (chunked): refused once past the limit, plain or encrypted.
    for encrypted in [false, true] {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..30).map(|seed| Ok(bytes(10_000, seed))).collect();
        let stream = futures_util::stream::iter(pieces);
        let form = Form::new()
            .text("name", "big.bin")
            .text("store_encrypted", encrypted.to_string())
            .part(
                "file",
                Part::stream(reqwest::Body::wrap_stream(stream)).file_name("big"),
            );
        let (status, refused) = send(
            app.admin(&creds, Method::POST, "/api/admin/files")
                .multipart(form),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
        assert_eq!(refused["code"], "file_too_large");
    }
    let (_, list) = send(app.admin(&creds, Method::GET, "/api/admin/files")).await;
    assert_eq!(list["files"], json!([]));
    assert_eq!(
        store.contents(&app).await,
        (0, 0),
        "no bytes and no unfinished upload"
    );
    // At the limit is fine.
    let (status, fits) = upload(&app, &creds, "fits.bin", false, false, bytes(100_000, 5)).await;
    assert_eq!(status, StatusCode::CREATED, "{fits}");
}

async fn downloads_follow_the_access_rules_and_bans(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let other = app.create_app(false).await;
    let (_, private) = upload(&app, &creds, "private.bin", false, false, bytes(5000, 6)).await;
    let (_, public) = upload(
        &app,
        &creds,
        "public.txt",
        true,
        false,
        b"for everyone".to_vec(),
    )
    .await;
    let (private, public) = (
        private["id"].as_str().unwrap(),
        public["id"].as_str().unwrap(),
    );
    let get = |id: &str, session: Option<&str>| download_request(&app, &creds, id, session);
    let code = |response: (StatusCode, Value)| (response.0, response.1["code"].clone());

    // Anonymous: nothing, until the application allows anonymous access; then public files.
    assert_eq!(
        code(send(get(public, None)).await),
        (StatusCode::UNAUTHORIZED, json!("invalid_session"))
    );
    let (status, _) = send(
        app.admin(&creds, Method::PATCH, "/api/admin/settings")
            .json(&json!({"anonymous_access": true})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = fetch(get(public, None)).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"for everyone"[..])
    );
    assert_eq!(
        code(send(get(private, None)).await),
        (StatusCode::UNAUTHORIZED, json!("invalid_session"))
    );

    // A member gets both; once the membership ran out, the public one only.
    let (session, user_id) = member_session(&app, &creds, 60).await;
    assert_eq!(fetch(get(private, Some(&session))).await.0, StatusCode::OK);
    let (status, _) = send(
        app.admin(&creds, Method::POST, "/api/admin/adjust-membership-time")
            .json(&json!({"user_id": user_id, "minutes": 60, "action": "remove"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        code(send(get(private, Some(&session))).await),
        (StatusCode::FORBIDDEN, json!("membership_inactive"))
    );
    assert_eq!(fetch(get(public, Some(&session))).await.0, StatusCode::OK);
    let (_, context) = send(
        app.client
            .get(app.url("/api/integration/app_context"))
            .header("x-api-key", &creds.api_key)
            .header("x-api-secret", &creds.api_secret)
            .bearer_auth(&session),
    )
    .await;
    let listed: Vec<_> = context["application"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["name"].clone())
        .collect();
    assert_eq!(
        listed,
        [json!("public.txt")],
        "an inactive member sees the public files"
    );

    // Another application's file, an unknown one and a malformed id: all 404 file_not_found.
    let (other_session, _) = member_session(&app, &other, 60).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (caller, token, id) in [
        (&other, &other_session, public),
        (&other, &other_session, private),
        (&creds, &session, unknown.as_str()),
        (&creds, &session, "not-a-file-id"),
    ] {
        let response = send(download_request(&app, caller, id, Some(token))).await;
        assert_eq!(
            code(response),
            (StatusCode::NOT_FOUND, json!("file_not_found"))
        );
    }

    // Bans apply as on app_context: the address is banned, so nobody from it gets a file.
    let (status, _) = app.ban(&creds, "ip", "127.0.0.1").await;
    assert_eq!(status, StatusCode::CREATED);
    for session in [None, Some(session.as_str())] {
        assert_eq!(
            code(send(get(public, session)).await),
            (StatusCode::FORBIDDEN, json!("banned"))
        );
    }
}
