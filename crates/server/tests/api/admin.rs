//! `/api/admin` over HTTP: licenses, bans, user lookup, all scoped to one application.

use crate::helpers::{Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    licenses_are_minted_in_bounds_and_imported_codes_must_be_new,
    an_admin_key_sees_only_its_own_application,
    bans_are_created_listed_and_lifted,
    invalid_ban_values_are_refused,
);

async fn licenses_are_minted_in_bounds_and_imported_codes_must_be_new(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let mint = |body: serde_json::Value| {
        app.admin(&creds, Method::POST, "/api/admin/licenses")
            .json(&body)
    };

    let (status, body) = send(mint(json!({"count": 3, "minutes": 43_200}))).await;
    assert_eq!(status, 201, "{body}");
    let licenses = body["licenses"].as_array().unwrap();
    assert_eq!(licenses.len(), 3);
    for license in licenses {
        let code = license["code"].as_str().unwrap();
        assert_eq!(code.len(), 39, "32 symbols in groups of four: {code}");
        assert_eq!(license["minutes"], 43_200);
    }

    for (body, field) in [
        (json!({"count": 0}), "count"),
        (json!({"count": 1001}), "count"),
        (json!({"count": 1, "minutes": 0}), "minutes"),
        (json!({}), "count"),
        (json!({"count": 1, "codes": ["ABC"]}), "codes"),
        (json!({"codes": ["ABC", "a-b-c"]}), "codes"),
        (json!({"codes": ["not valid!"]}), "codes"),
    ] {
        let answer = send(mint(body.clone())).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{body}");
    }

    let (status, imported) = send(mint(json!({"codes": ["VENDOR-CODE-1", "vendor-code-2"]}))).await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(
        imported["licenses"][0]["minutes"],
        serde_json::Value::Null,
        "lifetime when minutes is absent"
    );
    assert_error(
        &send(mint(json!({"codes": ["vendorcode1"]}))).await,
        409,
        "license_code_exists",
    );
    let (status, license) = app.license(&creds, "Vendor Code 1").await;
    assert_eq!(status, 200);
    assert_eq!(license["is_used"], false);
    assert_eq!(license["is_banned"], false);
    assert_error(&app.license(&creds, "NOPE").await, 404, "not_found");
}

async fn an_admin_key_sees_only_its_own_application(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ours, theirs) = (app.create_app(false).await, app.create_app(false).await);
    let code = app.mint(&ours, 1, Some(60)).await.remove(0);
    assert_eq!(
        app.sign_up(
            &ours,
            json!({"username": "ours_only", "password": "secure_password123"})
        )
        .await
        .0,
        200
    );
    assert_error(&app.license(&theirs, &code).await, 404, "not_found");
    assert_error(&app.user(&theirs, "ours_only").await, 404, "not_found");
    assert_error(&app.user(&ours, "nobody_here").await, 404, "not_found");

    let mut wrong = ours.clone();
    wrong.admin_api_key = "lk_adm_wrong".into();
    assert_error(&app.license(&wrong, &code).await, 401, "invalid_admin_key");
    let no_key = send(app.client.get(app.url("/api/admin/bans"))).await;
    assert_error(&no_key, 401, "invalid_admin_key");
    let api_secret_is_not_an_admin_key = send(
        app.client
            .get(app.url("/api/admin/bans"))
            .bearer_auth(&ours.api_secret),
    )
    .await;
    assert_error(&api_secret_is_not_an_admin_key, 401, "invalid_admin_key");
}

async fn bans_are_created_listed_and_lifted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ours, theirs) = (app.create_app(false).await, app.create_app(false).await);
    let (_, user) = app
        .sign_up(
            &ours,
            json!({"username": "Mallory", "password": "secure_password123"}),
        )
        .await;

    let (status, ip) = send(
        app.admin(&ours, Method::POST, "/api/admin/bans")
            .json(&json!({"type": "ip", "value": "2001:DB8::1/32", "reason": "abuse"})),
    )
    .await;
    assert_eq!(status, 201, "{ip}");
    assert_eq!(ip["type"], "ip");
    assert_eq!(ip["value"], "2001:db8::/32", "canonical form");
    assert_eq!(ip["reason"], "abuse");
    let (status, mapped) = app.ban(&ours, "ip", "::ffff:198.51.100.9").await;
    assert_eq!(status, 201);
    assert_eq!(
        mapped["value"], "198.51.100.9",
        "IPv4-mapped addresses are stored as IPv4"
    );
    let (status, by_user) = app.ban(&ours, "user", "mallory").await;
    assert_eq!(status, 201);
    assert_eq!(
        by_user["value"], user["id"],
        "a user ban names the user by id"
    );

    let (status, list) = send(app.admin(&ours, Method::GET, "/api/admin/bans")).await;
    assert_eq!(status, 200);
    // Three as created, and the address Mallory signed up from, banned with her.
    let values: Vec<_> = list["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ban| ban["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(values.len(), 4, "{values:?}");
    assert!(values.contains(&"127.0.0.1".to_owned()), "{values:?}");
    let (_, other_list) = send(app.admin(&theirs, Method::GET, "/api/admin/bans")).await;
    assert!(other_list["bans"].as_array().unwrap().is_empty());

    let path = format!("/api/admin/bans/{}", ip["id"].as_str().unwrap());
    assert_error(
        &send(app.admin(&theirs, Method::DELETE, &path)).await,
        404,
        "not_found",
    );
    let (status, body) = send(app.admin(&ours, Method::DELETE, &path)).await;
    assert_eq!((status.as_u16(), body), (204, serde_json::Value::Null));
    assert_error(
        &send(app.admin(&ours, Method::DELETE, &path)).await,
        404,
        "not_found",
    );
    assert_error(
        &send(app.admin(&ours, Method::DELETE, "/api/admin/bans/not-a-uuid")).await,
        404,
        "not_found",
    );
}

async fn invalid_ban_values_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    for (kind, value, field) in [
        ("ip", "256.0.0.1", "value"),
        ("ip", "10.0.0.0/33", "value"),
        ("ip", "example.com", "value"),
        ("hardware_id", "", "value"),
        ("license", "NO-SUCH-CODE", "value"),
        ("user", "nobody", "value"),
        ("user", "x", "value"),
        ("country", "NL", "type"),
    ] {
        let answer = app.ban(&creds, kind, value).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{kind} {value}");
    }
    let nul_reason = json!({"type": "ip", "value": "10.0.0.1", "reason": "bad\u{0}actor"});
    let answer = send(
        app.admin(&creds, Method::POST, "/api/admin/bans")
            .json(&nul_reason),
    )
    .await;
    assert_error(&answer, 422, "validation_failed");
    assert_eq!(answer.1["field"], "reason");
    let (_, list) = send(app.admin(&creds, Method::GET, "/api/admin/bans")).await;
    assert!(
        list["bans"].as_array().unwrap().is_empty(),
        "no refused ban was stored"
    );
}
