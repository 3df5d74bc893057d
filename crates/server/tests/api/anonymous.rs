//! Anonymous access over HTTP: without a session, `app_context` answers only for an
//! application that allows it, with its public variables and no user; a signed-in user sees
//! every variable; a banned address is refused either way.

use crate::helpers::{Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(anonymous_callers_see_public_variables_only_when_the_application_allows_it);

fn names(context: &Value) -> Vec<String> {
    context["application"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| variable["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn anonymous_callers_see_public_variables_only_when_the_application_allows_it(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    for (name, is_public) in [("motd", Some(true)), ("download_url", None)] {
        let (status, variable) = send(
            app.admin(&creds, Method::PUT, &format!("/api/admin/variables/{name}"))
                .json(&json!({"value": "v", "is_public": is_public})),
        )
        .await;
        assert_eq!(status, 200, "{variable}");
        assert_eq!(variable["is_public"], is_public.unwrap_or(false));
    }
    let anonymous = || {
        app.client
            .get(app.url("/api/integration/app_context"))
            .header("x-api-key", &creds.api_key)
            .header("x-api-secret", &creds.api_secret)
    };
    assert_error(&send(anonymous()).await, 401, "invalid_session");

    let (status, settings) = send(
        app.admin(&creds, Method::PATCH, "/api/admin/settings")
            .json(&json!({"anonymous_access": true})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), settings["anonymous_access"].clone()),
        (200, json!(true))
    );
    let (status, context) = send(anonymous()).await;
    assert_eq!(status, 200, "{context}");
    assert_eq!(context["user"], Value::Null);
    assert_eq!(names(&context), vec!["motd"]);

    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    assert_eq!(
        app.license_sign_up(&creds, json!({"code": code})).await.0,
        200
    );
    let (status, session) = send(
        app.integration(&creds, "/api/integration/auth/login")
            .json(&json!({"credentials": {"code": code}})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let token = session["session_token"].as_str().unwrap();
    let (status, context) = send(anonymous().bearer_auth(token)).await;
    assert_eq!(status, 200);
    assert!(context["user"]["id"].is_string());
    assert_eq!(names(&context), vec!["download_url", "motd"]);
    let (_, unknown) = send(anonymous().bearer_auth("lk_ses_unknown")).await;
    assert_eq!(
        unknown["code"], "invalid_session",
        "a bad session is not anonymous"
    );

    assert_eq!(app.ban(&creds, "ip", "127.0.0.1").await.0, 201);
    assert_error(&send(anonymous()).await, 403, "banned");
}
