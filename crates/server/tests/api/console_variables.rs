//! The console's variables screen over HTTP: set, replace and delete (after a confirmation)
//! application variables, seen through the admin API; bad input refused with what to
//! correct; `support` reads only.

use crate::console_helpers::{Browser, create_operator};
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_owner_sets_replaces_and_deletes_a_variable,
    a_bad_name_or_value_is_refused_with_what_to_correct_and_stores_nothing,
    a_support_operator_reads_variables_but_cannot_change_them,
    variables_page_by_name_and_an_edit_link_keeps_its_page,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn api_variables(app: &TestApp, credentials: &AppCredentials) -> Vec<Value> {
    let (status, body) = send(app.admin(credentials, Method::GET, "/api/admin/variables")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["variables"].as_array().unwrap().clone()
}

async fn an_owner_sets_replaces_and_deletes_a_variable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/variables", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No variable yet."));
    let csrf = page.csrf();

    let saved = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "motd"),
                ("value", "Hello <b>there</b>\r\nline two"),
                ("is_public", "yes"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let listed = browser.get(&path).await;
    assert!(listed.body.contains("Variable motd saved."));
    assert!(
        listed.body.contains("Hello &#60;b&#62;there")
            || listed.body.contains("Hello &lt;b&gt;there")
    );
    let variables = api_variables(&app, &credentials).await;
    assert_eq!(variables.len(), 1);
    assert_eq!(variables[0]["name"], "motd");
    assert_eq!(variables[0]["is_public"], true);

    // The edit link fills the form; saving the name again replaces the value.
    let edit = browser.get(&format!("{path}?edit=motd")).await;
    assert!(edit.body.contains("Change motd"));
    assert!(edit.body.contains(
        r#"id="variable-name" name="name" type="text" required maxlength="64" value="motd""#
    ));
    browser
        .post(&path, &[("csrf", &csrf), ("name", "motd"), ("value", "v2")])
        .await;
    let variables = api_variables(&app, &credentials).await;
    assert_eq!(variables.len(), 1);
    assert_eq!(variables[0]["value"], "v2");
    assert_eq!(variables[0]["is_public"], false);

    let delete = format!("{path}/delete");
    let question = browser
        .post(&delete, &[("csrf", &csrf), ("name", "motd")])
        .await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(question.body.contains("Delete the variable motd?"));
    assert_eq!(api_variables(&app, &credentials).await.len(), 1);
    let deleted = browser
        .post(
            &delete,
            &[("csrf", &csrf), ("name", "motd"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(api_variables(&app, &credentials).await.is_empty());
    assert!(
        browser
            .get(&path)
            .await
            .body
            .contains("Variable motd deleted.")
    );
}

async fn a_bad_name_or_value_is_refused_with_what_to_correct_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/variables", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    let long_name = "n".repeat(65);
    let long_value = "v".repeat(10_001);
    for (name, value, message) in [
        ("", "x", "The name must be 1 to 64 characters"),
        (
            long_name.as_str(),
            "x",
            "The name must be 1 to 64 characters",
        ),
        (
            "ok",
            long_value.as_str(),
            "The value must be at most 10000 characters",
        ),
        (
            "bell",
            "ding\u{7}",
            "The value must be at most 10000 characters",
        ),
    ] {
        let answer = browser
            .post(&path, &[("csrf", &csrf), ("name", name), ("value", value)])
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(answer.body.contains(message), "{name}: {}", answer.body);
    }
    assert!(api_variables(&app, &credentials).await.is_empty());
}

async fn a_support_operator_reads_variables_but_cannot_change_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let (status, _) = send(
        app.admin(&credentials, Method::PUT, "/api/admin/variables/latest")
            .json(&json!({"value": "1.2.3"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/variables", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("1.2.3"));
    assert!(!page.body.contains("Save variable"));
    assert!(!page.body.contains("/variables/delete"));
    let csrf = page.csrf();
    let set = browser
        .post(
            &path,
            &[("csrf", &csrf), ("name", "latest"), ("value", "6.6.6")],
        )
        .await;
    assert_eq!(set.status, StatusCode::FORBIDDEN);
    let delete = browser
        .post(
            &format!("{path}/delete"),
            &[("csrf", &csrf), ("name", "latest"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let variables = api_variables(&app, &credentials).await;
    assert_eq!(variables.len(), 1);
    assert_eq!(variables[0]["value"], "1.2.3");
}

async fn variables_page_by_name_and_an_edit_link_keeps_its_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    for n in 0..53 {
        let (status, _) = send(
            app.admin(
                &credentials,
                Method::PUT,
                &format!("/api/admin/variables/var_{n:02}"),
            )
            .json(&json!({"value": format!("value {n}")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/variables", credentials.id);
    let first = browser.get(&path).await;
    assert_eq!(first.body.matches("<td><code>var_").count(), 50);
    assert!(first.body.contains("var_00") && first.body.contains("var_49"));
    assert!(!first.body.contains("<code>var_50</code>"));
    assert!(
        first.body.contains("?after=var_49\" rel=\"next\""),
        "{}",
        first.body
    );
    let second = browser.get(&format!("{path}?after=var_49")).await;
    assert_eq!(second.body.matches("<td><code>var_").count(), 3);
    assert!(!second.body.contains("rel=\"next\""));
    assert!(
        second.body.contains("?after=var_49&#38;edit=var_52")
            || second.body.contains("?after=var_49&amp;edit=var_52"),
        "{}",
        second.body
    );
    let edit = browser
        .get(&format!("{path}?after=var_49&edit=var_52"))
        .await;
    assert!(edit.body.contains("Change var_52"));
    assert!(edit.body.contains("value 52</textarea>"));
}
