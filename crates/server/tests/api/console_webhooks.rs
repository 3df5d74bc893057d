//! The console's webhooks screens over HTTP: an endpoint created with its secret shown once,
//! a test message and a redelivery reaching a receiver and showing in the delivery log,
//! disable and enable, rotation (shown once) and deletion after a confirmation, bad input
//! refused with what to correct, and `support` reading only.

use crate::console_helpers::{Answer, Browser, create_operator};
use crate::eventually::eventually;
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use crate::receiver::Receiver;
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_endpoint_is_created_with_its_secret_shown_once_and_tests_and_redeliveries_arrive,
    an_endpoint_is_disabled_enabled_rotated_and_deleted_after_confirming,
    a_bad_endpoint_is_refused_with_what_to_correct_and_nothing_is_created,
    a_support_operator_reads_endpoints_and_deliveries_but_changes_nothing,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn api_endpoints(app: &TestApp, credentials: &AppCredentials) -> Vec<Value> {
    let (status, body) = send(app.admin(credentials, Method::GET, "/api/admin/webhooks")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["endpoints"]
        .as_array()
        .or_else(|| body["webhooks"].as_array())
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

/// The once-shown value of the secret page.
fn shown_secret(answer: &Answer) -> String {
    let start = answer
        .body
        .find(r#"id="new-secret""#)
        .expect("a secret field");
    answer.body[start..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

async fn create(browser: &mut Browser, credentials: &AppCredentials, url: &str) -> Answer {
    let path = format!("/console/apps/{}/webhooks", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("url", url),
                ("event_types", "user.* ban.created"),
                ("description", "the shop"),
            ],
        )
        .await
}

async fn an_endpoint_is_created_with_its_secret_shown_once_and_tests_and_redeliveries_arrive(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let receiver = Receiver::start().await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let list = format!("/console/apps/{}/webhooks", credentials.id);
    assert!(browser.get(&list).await.body.contains("No endpoint yet."));

    let created = create(&mut browser, &credentials, &receiver.url).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = shown_secret(&created);
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(created.body.contains(r#"data-copy="new-secret""#));
    let endpoints = api_endpoints(&app, &credentials).await;
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["description"], "the shop");
    assert_eq!(
        endpoints[0]["event_types"],
        json!(["user.*", "ban.created"])
    );
    let id = endpoints[0]["id"].as_str().unwrap().to_owned();
    let page_path = format!("{list}/{id}");

    let listed = browser.get(&list).await;
    assert!(listed.body.contains(&receiver.url));
    let page = browser.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Nothing delivered yet."));
    for html in [&listed.body, &page.body] {
        assert!(!html.contains(&secret), "the secret is shown once only");
    }

    let csrf = page.csrf();
    let tested = browser
        .post(&format!("{page_path}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(tested.status, StatusCode::SEE_OTHER);
    let received = receiver.wait_for(1).await;
    received[0]
        .verify(&secret)
        .expect("signed with the shown secret");
    eventually("the delivery log shows the attempt", async || {
        let page = browser_get(&app, &browser, &page_path).await;
        page.contains("succeeded, status 200")
    })
    .await;
    let page = browser.get(&page_path).await;
    assert!(page.body.contains("webhook_endpoint.test"));
    assert!(page.body.contains(" ms"));

    let start = page.body.find("/redeliver").unwrap();
    let action_start = page.body[..start].rfind("action=\"").unwrap() + "action=\"".len();
    let redeliver = page.body[action_start..start + "/redeliver".len()].to_owned();
    let again = browser.post(&redeliver, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[0].id, received[1].id,
        "a redelivery keeps the webhook-id"
    );
}

/// A GET with the browser's cookies, from a shared reference (for polling).
async fn browser_get(app: &TestApp, browser: &Browser, path: &str) -> String {
    let cookies = browser
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    app.client
        .get(app.url(path))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn an_endpoint_is_disabled_enabled_rotated_and_deleted_after_confirming(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let first =
        shown_secret(&create(&mut browser, &credentials, "https://shop.example.com/hooks").await);
    let id = api_endpoints(&app, &credentials).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page_path = format!("/console/apps/{}/webhooks/{id}", credentials.id);
    let csrf = browser.get(&page_path).await.csrf();
    let api = format!("/api/admin/webhooks/{id}");

    let off = browser
        .post(
            &format!("{page_path}/enabled"),
            &[("csrf", &csrf), ("enabled", "no")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(app.admin(&credentials, Method::GET, &api)).await.1["enabled"],
        false
    );
    assert!(
        browser
            .get(&page_path)
            .await
            .body
            .contains("Endpoint disabled")
    );
    browser
        .post(
            &format!("{page_path}/enabled"),
            &[("csrf", &csrf), ("enabled", "yes")],
        )
        .await;
    assert_eq!(
        send(app.admin(&credentials, Method::GET, &api)).await.1["enabled"],
        true
    );

    let rotate = format!("{page_path}/rotate");
    let question = browser
        .post(&rotate, &[("csrf", &csrf), ("old_valid_for", "3600")])
        .await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("signing secret?"));
    let rotated = browser
        .post(
            &rotate,
            &[
                ("csrf", &csrf),
                ("old_valid_for", "3600"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = shown_secret(&rotated);
    assert!(second.starts_with("whsec_"));
    assert_ne!(first, second);
    assert!(rotated.body.contains("The old one keeps working until"));
    assert!(!browser.get(&page_path).await.body.contains(&second));

    let delete = format!("{page_path}/delete");
    let question = browser.post(&delete, &[("csrf", &csrf)]).await;
    assert!(
        question
            .body
            .contains("Delete the endpoint https://shop.example.com/hooks?")
    );
    assert_eq!(api_endpoints(&app, &credentials).await.len(), 1);
    let deleted = browser
        .post(&delete, &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(api_endpoints(&app, &credentials).await.is_empty());
    assert_eq!(browser.get(&page_path).await.status, StatusCode::NOT_FOUND);
}

async fn a_bad_endpoint_is_refused_with_what_to_correct_and_nothing_is_created(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/webhooks", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    for (url, events, message) in [
        (
            "ftp://shop.example.com/x",
            "*",
            "absolute http or https address",
        ),
        (
            "https://user:pw@shop.example.com/x",
            "*",
            "without a user name or password",
        ),
        (
            "https://shop.example.com/x",
            "nonsense.*",
            "The event types must be",
        ),
    ] {
        let answer = browser
            .post(
                &path,
                &[("csrf", &csrf), ("url", url), ("event_types", events)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(answer.body.contains(message), "{url}: {}", answer.body);
        assert!(answer.body.contains(&format!(r#"value="{events}""#)));
    }
    assert!(api_endpoints(&app, &credentials).await.is_empty());
}

async fn a_support_operator_reads_endpoints_and_deliveries_but_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let (status, endpoint) = send(
        app.admin(&credentials, Method::POST, "/api/admin/webhooks")
            .json(&json!({"url": "https://shop.example.com/hooks", "event_types": ["*"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let list = format!("/console/apps/{}/webhooks", credentials.id);
    let listed = browser.get(&list).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(listed.body.contains("https://shop.example.com/hooks"));
    assert!(!listed.body.contains("Add an endpoint"));
    let page_path = format!("{list}/{id}");
    let page = browser.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    for button in ["Disable", "Send test", "Rotate the secret", "Delete…"] {
        assert!(!page.body.contains(button), "{button}");
    }
    assert!(!page.body.contains(&secret) && !listed.body.contains(&secret));
    let csrf = page.csrf();
    for (action, fields) in [
        (list.clone(), vec![("url", "https://evil.example/x")]),
        (format!("{page_path}/enabled"), vec![("enabled", "no")]),
        (format!("{page_path}/test"), vec![]),
        (
            format!("{page_path}/rotate"),
            vec![("old_valid_for", "0"), ("confirm", "yes")],
        ),
        (format!("{page_path}/delete"), vec![("confirm", "yes")]),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let answer = browser.post(&action, &form).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{action}");
        assert!(!answer.body.contains("whsec_"));
    }
    let endpoints = api_endpoints(&app, &credentials).await;
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["enabled"], true);
}
