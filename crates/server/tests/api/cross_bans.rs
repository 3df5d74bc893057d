//! Cross-bans of only what a request proved, and limits that count an IPv6 /64 as one
//! client: the assessment's attacks, reproduced through a trusted proxy's X-Forwarded-For.

use crate::helpers::{AppCredentials, Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    a_banned_address_naming_any_device_bans_no_device,
    naming_a_banned_device_from_a_clean_address_bans_no_address,
    a_banned_device_is_refused_before_the_password_and_bans_nothing_else,
    a_cross_ban_of_an_ipv6_address_covers_its_64,
    sign_ups_and_guesses_from_one_ipv6_64_are_limited_as_one_client,
    a_distributed_password_guesser_is_stopped_per_account_and_the_owner_still_signs_in,
    the_admin_api_says_whether_a_user_is_banned,
);

async fn behind_proxy(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.http.trusted_proxies = "127.0.0.1".into()).await
}

fn sign_up(name: &str, device: &str) -> Value {
    json!({"username": name, "password": "secure_password123", "hardware_id": device})
}

async fn from(
    app: &TestApp,
    creds: &AppCredentials,
    path: &str,
    ip: &str,
    body: &Value,
) -> (reqwest::StatusCode, Value) {
    send(
        app.integration(creds, path)
            .header("x-forwarded-for", ip)
            .json(body),
    )
    .await
}

async fn bans(app: &TestApp, creds: &AppCredentials) -> Vec<Value> {
    let (status, listed) = send(app.admin(creds, Method::GET, "/api/admin/bans")).await;
    assert_eq!(status, 200, "{listed}");
    listed["bans"].as_array().unwrap().clone()
}

async fn a_banned_address_naming_any_device_bans_no_device(backend: Backend) {
    let app = behind_proxy(backend).await;
    let creds = app.create_app(true).await;
    assert_eq!(app.ban(&creds, "ip", "203.0.113.66").await.0, 201);
    for (path, body) in [
        (
            "/api/integration/sign_up",
            sign_up("attacker", "victims-device"),
        ),
        (
            "/api/integration/auth/login",
            json!({"credentials": {"username": "nobody", "password": "whatever-pass"}, "hardware_id": "victims-device"}),
        ),
    ] {
        let refused = from(&app, &creds, path, "203.0.113.66", &body).await;
        assert_error(&refused, 403, "banned");
    }
    let kinds: Vec<_> = bans(&app, &creds)
        .await
        .iter()
        .map(|b| b["type"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("ip")], "only the operator's ban");
    let victim = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "198.51.100.7",
        &sign_up("victim", "victims-device"),
    )
    .await;
    assert_eq!(
        victim.0, 200,
        "the named device is not banned: {}",
        victim.1
    );
}

async fn naming_a_banned_device_from_a_clean_address_bans_no_address(backend: Backend) {
    let app = behind_proxy(backend).await;
    let creds = app.create_app(true).await;
    assert_eq!(app.ban(&creds, "hardware_id", "banned-device").await.0, 201);
    let refused = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "198.51.100.20",
        &sign_up("nat-user", "banned-device"),
    )
    .await;
    assert_error(&refused, 403, "banned");
    assert_eq!(bans(&app, &creds).await.len(), 1, "no address ban");
    let neighbour = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "198.51.100.20",
        &sign_up("neighbour", "own-device"),
    )
    .await;
    assert_eq!(
        neighbour.0, 200,
        "the shared address still works: {}",
        neighbour.1
    );
}

async fn a_banned_device_is_refused_before_the_password_and_bans_nothing_else(backend: Backend) {
    let app = behind_proxy(backend).await;
    let creds = app.create_app(true).await;
    let signed_up = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "198.51.100.30",
        &sign_up("owner", "clean-device"),
    )
    .await;
    assert_eq!(signed_up.0, 200, "{}", signed_up.1);
    assert_eq!(app.ban(&creds, "hardware_id", "banned-device").await.0, 201);
    let login = json!({"credentials": {"username": "owner", "password": "secure_password123"}, "hardware_id": "banned-device"});
    let refused = from(
        &app,
        &creds,
        "/api/integration/auth/login",
        "198.51.100.30",
        &login,
    )
    .await;
    assert_error(&refused, 403, "banned");
    let kinds: Vec<_> = bans(&app, &creds)
        .await
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    // Refused before the password is checked, so it proved nothing: no user or address ban.
    assert_eq!(kinds, vec!["hardware_id".to_owned()]);
    let own_device = json!({"credentials": {"username": "owner", "password": "secure_password123"}, "hardware_id": "clean-device"});
    let signed_in = from(
        &app,
        &creds,
        "/api/integration/auth/login",
        "198.51.100.30",
        &own_device,
    )
    .await;
    // Past every ban check: only the new user's inactive membership stops it.
    assert_error(&signed_in, 403, "membership_inactive");
}

async fn a_cross_ban_of_an_ipv6_address_covers_its_64(backend: Backend) {
    let app = behind_proxy(backend).await;
    let creds = app.create_app(true).await;
    let signed_up = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "2001:db8:5:5::1",
        &sign_up("mallory", "dev-1"),
    )
    .await;
    assert_eq!(signed_up.0, 200, "{}", signed_up.1);
    assert_eq!(app.ban(&creds, "user", "mallory").await.0, 201);
    let ip_bans: Vec<_> = bans(&app, &creds)
        .await
        .into_iter()
        .filter(|b| b["type"] == "ip")
        .collect();
    assert_eq!(ip_bans.len(), 1, "{ip_bans:?}");
    assert_eq!(ip_bans[0]["value"], "2001:db8:5:5::/64");
    let next_door = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "2001:db8:5:5:ffff::2",
        &sign_up("mallory2", "dev-2"),
    )
    .await;
    assert_error(&next_door, 403, "banned");
}

async fn sign_ups_and_guesses_from_one_ipv6_64_are_limited_as_one_client(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.http.trusted_proxies = "127.0.0.1".into();
        s.limits.enabled = true;
        s.limits.requests_per_second = 1000;
        s.limits.sign_ups_per_hour = 3;
        s.limits.failed_attempts_per_minute = 3;
    })
    .await;
    let creds = app.create_app(false).await;
    let in_64 = |n: u32| format!("2001:db8:9:9:{n:x}::1");
    let body = |n: u32| json!({"username": format!("user{n}"), "password": "secure_password123"});
    for n in 1..=3 {
        let answer = from(
            &app,
            &creds,
            "/api/integration/sign_up",
            &in_64(n),
            &body(n),
        )
        .await;
        assert_eq!(answer.0, 200, "{}", answer.1);
    }
    let fourth = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        &in_64(4),
        &body(4),
    )
    .await;
    assert_error(&fourth, 429, "rate_limited");
    let other_64 = from(
        &app,
        &creds,
        "/api/integration/sign_up",
        "2001:db8:9:a::1",
        &body(5),
    )
    .await;
    assert_eq!(
        other_64.0, 200,
        "another /64 is another client: {}",
        other_64.1
    );

    let guess = json!({"credentials": {"username": "user1", "password": "wrong-password-1"}});
    for n in 10..13 {
        let answer = from(
            &app,
            &creds,
            "/api/integration/auth/login",
            &in_64(n),
            &guess,
        )
        .await;
        assert_error(&answer, 401, "invalid_credentials");
    }
    let next_guess = from(
        &app,
        &creds,
        "/api/integration/auth/login",
        &in_64(13),
        &guess,
    )
    .await;
    assert_error(&next_guess, 429, "rate_limited");
}

async fn a_distributed_password_guesser_is_stopped_per_account_and_the_owner_still_signs_in(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |s| {
        s.http.trusted_proxies = "127.0.0.1".into();
        s.limits.enabled = true;
        s.limits.requests_per_second = 1000;
        s.limits.sign_ups_per_hour = 1000;
        s.limits.failed_attempts_per_minute = 3;
    })
    .await;
    let creds = app.create_app(false).await;
    let owner = json!({"username": "owner", "password": "secure_password123"});
    assert_eq!(app.sign_up(&creds, owner).await.0, 200);
    let code = app.mint(&creds, 1, Some(60)).await.remove(0);
    let activate = json!({"code": code, "username": "owner", "password": "secure_password123"});
    let activated = send(
        app.integration(&creds, "/api/integration/activate_license")
            .json(&activate),
    )
    .await;
    assert_eq!(activated.0, 200, "{}", activated.1);

    let login =
        |password: &str| json!({"credentials": {"username": "owner", "password": password}});
    let path = "/api/integration/auth/login";
    // Three guesses from two networks: under the address limit of 3 on each, the account's 3.
    for ip in ["198.51.100.1", "198.51.100.1", "203.0.113.1"] {
        assert_error(
            &from(&app, &creds, path, ip, &login("guess-guess")).await,
            401,
            "invalid_credentials",
        );
    }
    let third_guess = from(&app, &creds, path, "198.51.100.1", &login("guess-guess")).await;
    assert_error(&third_guess, 429, "rate_limited");
    let right_from_guesser = from(
        &app,
        &creds,
        path,
        "203.0.113.1",
        &login("secure_password123"),
    )
    .await;
    assert_error(&right_from_guesser, 429, "rate_limited");
    let activation_guess =
        json!({"code": "NO-SUCH-CODE-0000", "username": "owner", "password": "guess-guess"});
    let by_activation = from(
        &app,
        &creds,
        "/api/integration/activate_license",
        "203.0.113.1",
        &activation_guess,
    )
    .await;
    assert_error(&by_activation, 429, "rate_limited");

    let owner_signs_in = from(
        &app,
        &creds,
        path,
        "192.0.2.10",
        &login("secure_password123"),
    )
    .await;
    assert_eq!(
        owner_signs_in.0, 200,
        "a clean address with the right password: {}",
        owner_signs_in.1
    );
}

async fn the_admin_api_says_whether_a_user_is_banned(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let body = json!({"username": "watched", "password": "secure_password123"});
    assert_eq!(app.sign_up(&creds, body).await.0, 200);
    let (status, before) = app.user(&creds, "watched").await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["ban"], Value::Null);
    let (status, ban) = app.ban(&creds, "user", "watched").await;
    assert_eq!(status, 201, "{ban}");
    let (_, after) = app.user(&creds, "watched").await;
    assert_eq!(after["ban"]["id"], ban["id"], "{after}");
    assert_eq!(after["ban"]["type"], "user");
    assert!(after["ban"].get("expires_at").is_some(), "{after}");
}
