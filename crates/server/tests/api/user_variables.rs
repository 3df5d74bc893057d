//! User variables over HTTP: the signed-in user's own through the integration API, any
//! user's through the admin API, within the application's limit even under concurrent writes.

use crate::helpers::{AppCredentials, Backend, TestApp, all_at_once, assert_error, send};
use crate::on_both_backends;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

on_both_backends!(
    a_signed_in_user_reads_writes_and_deletes_their_own_variables,
    the_limit_holds_under_concurrent_writes_and_the_admin_api_sees_every_user,
);

/// A new user of `creds` and a live session token for them.
async fn signed_in(app: &TestApp, creds: &AppCredentials) -> (String, String) {
    let code = app.mint(creds, 1, Some(60)).await.remove(0);
    let (_, user) = app.license_sign_up(creds, json!({"code": code})).await;
    let (status, session) = send(
        app.integration(creds, "/api/integration/auth/login")
            .json(&json!({"credentials": {"code": code}})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    (
        user["id"].as_str().unwrap().to_owned(),
        session["session_token"].as_str().unwrap().to_owned(),
    )
}

fn own(
    app: &TestApp,
    creds: &AppCredentials,
    method: Method,
    path: &str,
    token: &str,
) -> RequestBuilder {
    app.client
        .request(
            method,
            app.url(&format!("/api/integration/user/variables{path}")),
        )
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret)
        .bearer_auth(token)
}

fn names(body: &Value) -> Vec<String> {
    body["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| variable["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_signed_in_user_reads_writes_and_deletes_their_own_variables(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let (_, token) = signed_in(&app, &creds).await;
    let put = |name: &str, value: &str| {
        own(&app, &creds, Method::PUT, &format!("/{name}"), &token).json(&json!({"value": value}))
    };
    let (status, body) = send(put("high_score", "9000")).await;
    assert_eq!(
        (status.as_u16(), body),
        (200, json!({"name": "high_score", "value": "9000"}))
    );
    assert_eq!(send(put("high_score", "9001")).await.0, 200);
    assert_eq!(send(put("theme.v2", "dark")).await.0, 200);
    let (_, listed) = send(own(&app, &creds, Method::GET, "", &token)).await;
    assert_eq!(
        listed,
        json!({"variables": [
            {"name": "high_score", "value": "9001"},
            {"name": "theme.v2", "value": "dark"}
        ]})
    );
    for (name, value, field) in [
        ("has space", "x", "name"),
        (&"n".repeat(65), "x", "name"),
        ("ok", &"v".repeat(10_001), "value"),
    ] {
        let answer = send(put(name, value)).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field);
    }
    let (status, _) = send(own(&app, &creds, Method::DELETE, "/theme.v2", &token)).await;
    assert_eq!(status, 204);
    assert_error(
        &send(own(&app, &creds, Method::DELETE, "/theme.v2", &token)).await,
        404,
        "not_found",
    );
    assert_eq!(
        names(&send(own(&app, &creds, Method::GET, "", &token)).await.1),
        vec!["high_score"]
    );

    assert_error(
        &send(own(&app, &creds, Method::GET, "", "lk_ses_unknown")).await,
        401,
        "invalid_session",
    );
    let no_session = app
        .client
        .get(app.url("/api/integration/user/variables"))
        .header("x-api-key", &creds.api_key)
        .header("x-api-secret", &creds.api_secret);
    assert_error(&send(no_session).await, 401, "invalid_session");
}

async fn the_limit_holds_under_concurrent_writes_and_the_admin_api_sees_every_user(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let (status, settings) = send(
        app.admin(&creds, Method::PATCH, "/api/admin/settings")
            .json(&json!({"max_user_variables": 3})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), settings["max_user_variables"].clone()),
        (200, json!(3))
    );
    let (user, token) = signed_in(&app, &creds).await;
    let writes = (0..8)
        .map(|n| {
            own(&app, &creds, Method::PUT, &format!("/v{n}"), &token).json(&json!({"value": "x"}))
        })
        .collect();
    let answers = all_at_once(writes).await;
    let stored = answers
        .iter()
        .filter(|(status, _)| status.as_u16() == 200)
        .count();
    assert_eq!(stored, 3, "{answers:?}");
    for answer in answers.iter().filter(|(status, _)| status.as_u16() != 200) {
        assert_error(answer, 409, "too_many_variables");
    }

    let admin = |method: Method, path: &str| {
        app.admin(
            &creds,
            method,
            &format!("/api/admin/users/{user}/variables{path}"),
        )
    };
    let (status, listed) = send(admin(Method::GET, "")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&listed).len(), 3);
    let existing = names(&listed)[0].clone();
    let (status, _) =
        send(admin(Method::PUT, &format!("/{existing}")).json(&json!({"value": "replaced"}))).await;
    assert_eq!(status, 200, "replacing one stays within the limit");
    assert_error(
        &send(admin(Method::PUT, "/one_more").json(&json!({"value": "x"}))).await,
        409,
        "too_many_variables",
    );
    assert_eq!(
        send(admin(Method::DELETE, &format!("/{existing}"))).await.0,
        204
    );
    assert_eq!(
        send(admin(Method::PUT, "/one_more").json(&json!({"value": "x"})))
            .await
            .0,
        200
    );

    let unknown = "/api/admin/users/01a21880-a87e-7441-97fb-227eb4549870/variables";
    assert_error(
        &send(app.admin(&creds, Method::GET, unknown)).await,
        404,
        "not_found",
    );
    let other = app.create_app(false).await;
    let theirs = format!("/api/admin/users/{user}/variables");
    assert_error(
        &send(app.admin(&other, Method::GET, &theirs)).await,
        404,
        "not_found",
    );
}
