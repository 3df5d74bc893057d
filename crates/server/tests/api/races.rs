//! Races, with real concurrency: tasks released together by a barrier.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    thirty_two_concurrent_redemptions_of_one_code_have_exactly_one_winner,
    twenty_four_concurrent_sign_ups_of_name_and_name_in_capitals_create_one_user,
);

/// Sends `bodies` to `path` all at once; returns the statuses and bodies.
async fn all_at_once(
    app: &TestApp,
    creds: &crate::helpers::AppCredentials,
    path: &'static str,
    bodies: Vec<Value>,
) -> Vec<(u16, Value)> {
    let requests = bodies
        .iter()
        .map(|body| app.integration(creds, path).json(body))
        .collect();
    crate::helpers::all_at_once(requests)
        .await
        .into_iter()
        .map(|(status, body)| (status.as_u16(), body))
        .collect()
}

fn count(answers: &[(u16, Value)], status: u16, code: Option<&str>) -> usize {
    answers
        .iter()
        .filter(|(s, body)| *s == status && code.is_none_or(|c| body["code"] == c))
        .count()
}

async fn thirty_two_concurrent_redemptions_of_one_code_have_exactly_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(true).await;
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    let bodies = (0..32)
        .map(|i| json!({"code": code, "hardware_id": format!("device-{i}")}))
        .collect();
    let answers = all_at_once(
        &app,
        &creds,
        "/api/integration/sign_up_with_license_code",
        bodies,
    )
    .await;
    assert_eq!(count(&answers, 200, None), 1, "{answers:?}");
    assert_eq!(
        count(&answers, 422, Some("invalid_license_code")),
        31,
        "{answers:?}"
    );
    let winner = answers
        .iter()
        .find(|(s, _)| *s == 200)
        .map(|(_, body)| body["id"].clone())
        .unwrap();
    let (_, license) = app.license(&creds, &code).await;
    assert_eq!(license["activated_by_user_id"], winner);
}

async fn twenty_four_concurrent_sign_ups_of_name_and_name_in_capitals_create_one_user(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let bodies = (0..24)
        .map(|i| json!({"username": if i % 2 == 0 { "name" } else { "NAME" }, "password": "secure_password123"}))
        .collect();
    let answers = all_at_once(&app, &creds, "/api/integration/sign_up", bodies).await;
    assert_eq!(count(&answers, 200, None), 1, "{answers:?}");
    assert_eq!(
        count(&answers, 422, Some("username_taken")),
        23,
        "{answers:?}"
    );
}
