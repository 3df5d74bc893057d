//! The console's files screen over HTTP: a multipart upload (name, public, encrypted, file)
//! stored through the files service and listed, downloaded byte for byte, deleted after a
//! confirmation; a file over the files limit refused with nothing kept; the upload's CSRF
//! token checked before anything is stored; `support` downloads but cannot upload or delete.

use crate::console_helpers::{Answer, Browser, create_operator};
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends!(
    an_owner_uploads_downloads_and_deletes_a_file,
    a_file_over_the_limit_or_without_a_name_or_token_is_refused_and_nothing_is_kept,
    a_support_operator_downloads_but_cannot_upload_or_delete,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn api_files(app: &TestApp, credentials: &AppCredentials) -> Vec<Value> {
    let (status, body) = send(app.admin(credentials, Method::GET, "/api/admin/files")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["files"].as_array().unwrap().clone()
}

/// Posts the upload form as a browser does: multipart, this origin, the session's cookies.
async fn upload(
    app: &TestApp,
    browser: &mut Browser,
    path: &str,
    csrf: &str,
    name: &str,
    public: bool,
    data: Vec<u8>,
) -> Answer {
    let mut form = Form::new()
        .text("csrf", csrf.to_owned())
        .text("name", name.to_owned());
    if public {
        form = form.text("is_public", "yes");
    }
    form = form.part(
        "file",
        Part::bytes(data)
            .file_name("local.bin")
            .mime_str("application/zip")
            .unwrap(),
    );
    let cookies = browser
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(path))
        .header("cookie", cookies)
        .header("origin", app.address.clone())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    // The flash cookie of a redirect, kept as a browser keeps it.
    for line in headers.get_all("set-cookie") {
        let pair = line.to_str().unwrap().split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        browser.cookies.insert(name.to_owned(), value.to_owned());
    }
    let body = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn an_owner_uploads_downloads_and_deletes_a_file(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/files", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No file yet."));
    assert!(page.body.contains(r#"enctype="multipart/form-data""#));
    // Progress is a progressive enhancement: a same-origin script, no inline script.
    assert!(
        page.body
            .contains(r#"<script src="/console/static/upload.js" defer></script>"#)
    );
    assert_eq!(page.body.matches("<script").count(), 1);
    let script = browser.get("/console/static/upload.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.body.contains("upload-progress"));
    let csrf = page.csrf();

    // 200 KiB: well over the console's 16 KiB form limit.
    let data: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let answer = upload(
        &app,
        &mut browser,
        &path,
        &csrf,
        "app-1.2.3.zip",
        true,
        data.clone(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let listed = browser.get(&path).await;
    assert!(
        listed.body.contains("Uploaded app-1.2.3.zip (200.0 KiB)."),
        "{}",
        listed.body
    );
    assert!(listed.body.contains("<code>app-1.2.3.zip</code>"));
    let files = api_files(&app, &credentials).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["name"], "app-1.2.3.zip");
    assert_eq!(files[0]["is_public"], true);
    assert_eq!(files[0]["size_bytes"], 200 * 1024);
    let id = files[0]["id"].as_str().unwrap().to_owned();

    let download = reqwest::Client::new()
        .get(app.url(&format!("{path}/{id}/download")))
        .header(
            "cookie",
            format!(
                "{}={}",
                crate::console_helpers::SESSION_COOKIE,
                browser.session().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("app-1.2.3.zip")
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), data);

    let duplicate = upload(
        &app,
        &mut browser,
        &path,
        &csrf,
        "app-1.2.3.zip",
        false,
        vec![1],
    )
    .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert!(duplicate.body.contains("A file of that name exists"));

    let delete = format!("{path}/{id}/delete");
    let question = browser.post(&delete, &[("csrf", &csrf)]).await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("Delete the file app-1.2.3.zip?"));
    assert_eq!(api_files(&app, &credentials).await.len(), 1);
    let deleted = browser
        .post(&delete, &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(api_files(&app, &credentials).await.is_empty());
    assert!(
        browser
            .get(&path)
            .await
            .body
            .contains("File app-1.2.3.zip deleted.")
    );
}

async fn a_file_over_the_limit_or_without_a_name_or_token_is_refused_and_nothing_is_kept(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.files.max_size_bytes = 100 * 1024;
    })
    .await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/files", credentials.id);
    let csrf = browser.get(&path).await.csrf();

    let big = upload(
        &app,
        &mut browser,
        &path,
        &csrf,
        "big.bin",
        false,
        vec![7; 300 * 1024],
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.body);
    assert!(big.body.contains("larger than the limit of 100.0 KiB"));
    // Over the limit by less than the multipart allowance: the service stops it.
    let just_over = upload(
        &app,
        &mut browser,
        &path,
        &csrf,
        "over.bin",
        false,
        vec![7; 100 * 1024 + 1],
    )
    .await;
    assert_eq!(
        just_over.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        just_over.body
    );
    let unnamed = upload(&app, &mut browser, &path, &csrf, "a/b", false, vec![1]).await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unnamed.body.contains("The name is not usable"));
    let forged = upload(
        &app,
        &mut browser,
        &path,
        "0000",
        "forged.bin",
        false,
        vec![1],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(api_files(&app, &credentials).await.is_empty());
}

async fn a_support_operator_downloads_but_cannot_upload_or_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let mut owner = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/files", credentials.id);
    let csrf = owner.get(&path).await.csrf();
    let answer = upload(
        &app,
        &mut owner,
        &path,
        &csrf,
        "notes.txt",
        false,
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let id = api_files(&app, &credentials).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut support = Browser::signed_in(&app, SUPPORT).await;
    let page = support.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("notes.txt"));
    assert!(!page.body.contains("Upload a file"));
    assert!(!page.body.contains("/delete"));
    let download = support.get(&format!("{path}/{id}/download")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, "hello");
    let csrf = page.csrf();
    let refused = upload(
        &app,
        &mut support,
        &path,
        &csrf,
        "mine.txt",
        false,
        b"x".to_vec(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let delete = support
        .post(
            &format!("{path}/{id}/delete"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert_eq!(api_files(&app, &credentials).await.len(), 1);
}
