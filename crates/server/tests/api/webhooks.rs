//! Webhooks end to end: endpoints over the admin API, deliveries to a real HTTP receiver,
//! signatures checked by the `standardwebhooks` crate, retries, 410, redelivery, rotation,
//! and the refusal of private targets.

use crate::eventually::eventually;
use crate::helpers::{AppCredentials, Backend, TestApp, assert_error, send};
use crate::on_both_backends;
use crate::receiver::{Receiver, Reply};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    an_event_is_delivered_signed_with_its_id_and_the_audit_event_as_data,
    a_500_is_retried_with_the_same_webhook_id_and_both_attempts_are_logged,
    a_410_disables_the_endpoint_and_the_audit_log_says_the_system_did,
    a_redelivery_sends_the_same_id_and_body_again,
    a_test_message_reaches_the_endpoint,
    during_a_rotation_both_secrets_sign_every_delivery,
    endpoints_are_listed_changed_and_deleted_with_their_events,
    a_refused_change_queues_no_delivery_and_disabled_endpoints_get_none,
    bad_endpoint_input_is_refused_field_by_field_and_changes_nothing,
    private_targets_are_refused_unless_allowed,
    a_master_key_rotation_reseals_webhook_secrets_at_start,
);

async fn create_endpoint(
    app: &TestApp,
    creds: &AppCredentials,
    url: &str,
    event_types: &[&str],
) -> Value {
    let (status, body) = send(
        app.admin(creds, Method::POST, "/api/admin/webhooks")
            .json(&json!({"url": url, "event_types": event_types, "description": "the shop"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["secret"].as_str().unwrap().starts_with("whsec_"));
    body
}

async fn deliveries(app: &TestApp, creds: &AppCredentials, endpoint: &Value) -> Vec<Value> {
    let path = format!(
        "/api/admin/webhooks/{}/deliveries",
        endpoint["id"].as_str().unwrap()
    );
    let (status, body) = send(app.admin(creds, Method::GET, &path)).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

async fn sign_up(app: &TestApp, creds: &AppCredentials, username: &str) -> Value {
    let (status, user) = app
        .sign_up(
            creds,
            json!({"username": username, "password": "secure_password123"}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    user
}

async fn an_event_is_delivered_signed_with_its_id_and_the_audit_event_as_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["user.*"]).await;
    let secret = endpoint["secret"].as_str().unwrap();

    let user = sign_up(&app, &creds, "hooked_user").await;
    let received = receiver.wait_for(1).await;
    let message = &received[0];
    message.verify(secret).expect("the signature verifies");
    assert!(message.signature.starts_with("v1,"));
    let body = message.json();
    assert_eq!(body["type"], "user.created");
    assert_eq!(body["data"]["action"], "user.created");
    assert_eq!(body["data"]["target"]["id"], user["id"]);
    assert_eq!(body["data"]["summary"]["username"], "hooked_user");
    assert_eq!(
        body["data"]["id"], message.id,
        "webhook-id is the event's id"
    );
    assert_eq!(body["timestamp"], body["data"]["occurred_at"]);
    let (_, audit) =
        send(app.admin(&creds, Method::GET, "/api/admin/audit?action=user.created")).await;
    assert_eq!(audit["events"][0]["id"], message.id);
    assert!(
        message
            .verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .is_err(),
        "another secret does not verify"
    );

    eventually("the attempt is recorded", async || {
        deliveries(&app, &creds, &endpoint)
            .await
            .first()
            .is_some_and(|d| d["state"] == "succeeded")
    })
    .await;
    let delivery = &deliveries(&app, &creds, &endpoint).await[0];
    assert_eq!(delivery["message_id"], message.id);
    assert_eq!(delivery["type"], "user.created");
    assert_eq!(delivery["attempts"][0]["status"], 200);
    assert_eq!(delivery["attempts"][0]["outcome"], "succeeded");
    assert_eq!(delivery["attempts"][0]["response"], "answered 200");
    assert_eq!(
        receiver.received().len(),
        1,
        "one event, one endpoint: one request"
    );
}

async fn a_500_is_retried_with_the_same_webhook_id_and_both_attempts_are_logged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(500)]);
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["user.created"]).await;

    sign_up(&app, &creds, "retried_user").await;
    // The first retry is due 5 s (±10 %) after the failure.
    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].id, received[1].id);
    assert_eq!(received[0].body, received[1].body);
    let secret = endpoint["secret"].as_str().unwrap();
    received[1].verify(secret).unwrap();

    eventually("the retry is recorded", async || {
        deliveries(&app, &creds, &endpoint)
            .await
            .first()
            .is_some_and(|d| d["state"] == "succeeded")
    })
    .await;
    let attempts = deliveries(&app, &creds, &endpoint).await[0]["attempts"].clone();
    assert_eq!(attempts[0]["status"], 200, "newest first: {attempts}");
    assert_eq!(attempts[1]["status"], 500);
    assert_eq!(attempts[1]["outcome"], "failed");
    let (_, shown) = send(app.admin(
        &creds,
        Method::GET,
        &format!("/api/admin/webhooks/{}", endpoint["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(
        shown["failing_since"],
        Value::Null,
        "a success ends the run of failures"
    );
    assert_eq!(shown["enabled"], true);
}

async fn a_410_disables_the_endpoint_and_the_audit_log_says_the_system_did(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(410)]);
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["user.*"]).await;
    let path = format!("/api/admin/webhooks/{}", endpoint["id"].as_str().unwrap());

    sign_up(&app, &creds, "gone_user").await;
    receiver.wait_for(1).await;
    eventually("the endpoint is disabled", async || {
        send(app.admin(&creds, Method::GET, &path)).await.1["enabled"] == false
    })
    .await;
    let (_, shown) = send(app.admin(&creds, Method::GET, &path)).await;
    assert_eq!(shown["disabled_reason"], "gone");
    let delivery = &deliveries(&app, &creds, &endpoint).await[0];
    assert_eq!(delivery["state"], "failed", "410 is not retried");
    assert_eq!(delivery["attempts"][0]["outcome"], "gone");
    let (_, audit) = send(app.admin(
        &creds,
        Method::GET,
        "/api/admin/audit?action=webhook_endpoint.disabled",
    ))
    .await;
    let event = &audit["events"][0];
    assert_eq!(event["actor"]["kind"], "system");
    assert_eq!(event["target"]["id"], endpoint["id"]);
    assert_eq!(event["summary"]["disabled_reason"], "gone");

    sign_up(&app, &creds, "unheard_user").await;
    assert_eq!(
        deliveries(&app, &creds, &endpoint).await.len(),
        1,
        "a disabled endpoint is queued nothing"
    );
    let (status, enabled) = send(
        app.admin(&creds, Method::PATCH, &path)
            .json(&json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["disabled_reason"], Value::Null);
    sign_up(&app, &creds, "heard_again").await;
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[1].json()["data"]["summary"]["username"],
        "heard_again"
    );
}

async fn a_redelivery_sends_the_same_id_and_body_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["*"]).await;
    let endpoint_id = endpoint["id"].as_str().unwrap();

    sign_up(&app, &creds, "redelivered").await;
    // The endpoint's own creation comes first: it subscribes to everything.
    let first = receiver.wait_for(2).await;
    let user_created = first
        .iter()
        .find(|message| message.json()["type"] == "user.created")
        .unwrap()
        .clone();
    eventually("both are recorded", async || {
        let all = deliveries(&app, &creds, &endpoint).await;
        all.len() == 2 && all.iter().all(|d| d["state"] == "succeeded")
    })
    .await;
    let delivery = deliveries(&app, &creds, &endpoint)
        .await
        .into_iter()
        .find(|d| d["type"] == "user.created")
        .unwrap();

    let (status, requeued) = send(app.admin(
        &creds,
        Method::POST,
        &format!(
            "/api/admin/webhooks/{endpoint_id}/deliveries/{}/redeliver",
            delivery["id"].as_str().unwrap()
        ),
    ))
    .await;
    assert_eq!(status, 202, "{requeued}");
    assert_eq!(requeued["state"], "pending");
    let again = receiver.wait_for(3).await;
    assert_eq!(again[2].id, user_created.id, "the same webhook-id");
    assert_eq!(again[2].body, user_created.body, "the same body");
    again[2]
        .verify(endpoint["secret"].as_str().unwrap())
        .unwrap();
    assert_eq!(receiver.unique_ids().len(), 2);

    let unknown = send(app.admin(
        &creds,
        Method::POST,
        &format!(
            "/api/admin/webhooks/{endpoint_id}/deliveries/{}/redeliver",
            uuid::Uuid::now_v7()
        ),
    ))
    .await;
    assert_error(&unknown, 404, "not_found");
}

async fn a_test_message_reaches_the_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["license.*"]).await;
    let endpoint_id = endpoint["id"].as_str().unwrap();

    let (status, queued) = send(app.admin(
        &creds,
        Method::POST,
        &format!("/api/admin/webhooks/{endpoint_id}/test"),
    ))
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["type"], "webhook_endpoint.test");
    let received = receiver.wait_for(1).await;
    received[0]
        .verify(endpoint["secret"].as_str().unwrap())
        .unwrap();
    assert_eq!(received[0].id, queued["message_id"]);
    let body = received[0].json();
    assert_eq!(body["type"], "webhook_endpoint.test");
    assert_eq!(body["data"]["endpoint_id"], endpoint_id);

    let other = app.create_app(false).await;
    let foreign = send(app.admin(
        &other,
        Method::POST,
        &format!("/api/admin/webhooks/{endpoint_id}/test"),
    ))
    .await;
    assert_error(&foreign, 404, "not_found");
}

async fn during_a_rotation_both_secrets_sign_every_delivery(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["user.created"]).await;
    let old_secret = endpoint["secret"].as_str().unwrap();
    let path = format!(
        "/api/admin/webhooks/{}/rotate-secret",
        endpoint["id"].as_str().unwrap()
    );

    let (status, rotated) = send(
        app.admin(&creds, Method::POST, &path)
            .json(&json!({"old_valid_for_seconds": 3600})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    assert!(rotated["previous_secret_expires_at"].is_string());

    sign_up(&app, &creds, "rotated_user").await;
    let received = receiver.wait_for(1).await;
    assert_eq!(
        received[0].signature.split(' ').count(),
        2,
        "both signatures"
    );
    received[0].verify(new_secret).unwrap();
    received[0].verify(old_secret).unwrap();

    let (_, ended) = send(
        app.admin(&creds, Method::POST, &path)
            .json(&json!({"old_valid_for_seconds": 0})),
    )
    .await;
    let newest = ended["secret"].as_str().unwrap();
    sign_up(&app, &creds, "after_rotation").await;
    let received = receiver.wait_for(2).await;
    assert_eq!(received[1].signature.split(' ').count(), 1);
    received[1].verify(newest).unwrap();
    assert!(
        received[1].verify(new_secret).is_err(),
        "no overlap was asked for"
    );

    let (_, audit) = send(app.admin(
        &creds,
        Method::GET,
        "/api/admin/audit?action=webhook_endpoint.secret_rotated",
    ))
    .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2);
    let logged = audit.to_string();
    for secret in [old_secret, new_secret, newest] {
        assert!(!logged.contains(secret.trim_start_matches("whsec_")));
    }
    let (_, listed) = send(app.admin(&creds, Method::GET, "/api/admin/webhooks")).await;
    assert!(
        listed["webhooks"][0].get("secret").is_none(),
        "shown once only"
    );
}

async fn endpoints_are_listed_changed_and_deleted_with_their_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let first = create_endpoint(&app, &creds, "http://127.0.0.1:9/a", &["user.*"]).await;
    let second = create_endpoint(&app, &creds, "http://127.0.0.1:9/b", &["license.*"]).await;

    let (_, page) = send(app.admin(&creds, Method::GET, "/api/admin/webhooks?limit=1")).await;
    assert_eq!(page["webhooks"][0]["id"], second["id"], "newest first");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = send(app.admin(
        &creds,
        Method::GET,
        &format!("/api/admin/webhooks?limit=1&cursor={cursor}"),
    ))
    .await;
    assert_eq!(rest["webhooks"][0]["id"], first["id"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let path = format!("/api/admin/webhooks/{}", first["id"].as_str().unwrap());
    let (status, changed) = send(app.admin(&creds, Method::PATCH, &path).json(&json!({
        "url": "https://hooks.example.com/latchkey",
        "event_types": ["*"],
        "description": "renamed",
        "enabled": false,
    })))
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["url"], "https://hooks.example.com/latchkey");
    assert_eq!(changed["event_types"], json!(["*"]));
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["description"], "renamed");

    assert_eq!(send(app.admin(&creds, Method::DELETE, &path)).await.0, 204);
    assert_error(
        &send(app.admin(&creds, Method::GET, &path)).await,
        404,
        "not_found",
    );
    assert_error(
        &send(app.admin(&creds, Method::DELETE, &path)).await,
        404,
        "not_found",
    );

    let (_, audit) = send(app.admin(&creds, Method::GET, "/api/admin/audit")).await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "webhook_endpoint.deleted",
            "webhook_endpoint.updated",
            "webhook_endpoint.created",
            "webhook_endpoint.created",
        ]
    );
    let updated = &audit["events"][1];
    assert_eq!(updated["actor"]["kind"], "admin_key");
    assert_eq!(updated["summary"]["host"], "hooks.example.com");
    assert_eq!(updated["summary"]["enabled"], false);
}

async fn a_refused_change_queues_no_delivery_and_disabled_endpoints_get_none(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(&app, &creds, &receiver.url, &["user.created"]).await;
    sign_up(&app, &creds, "taken_name").await;
    receiver.wait_for(1).await;

    let taken = app
        .sign_up(
            &creds,
            json!({"username": "taken_name", "password": "secure_password123"}),
        )
        .await;
    assert_error(&taken, 422, "username_taken");
    let (_, audit) =
        send(app.admin(&creds, Method::GET, "/api/admin/audit?action=user.created")).await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 1);
    // The delivery is recorded once its attempt ends, a moment after the receiver has it.
    eventually("the delivery is recorded", async || {
        deliveries(&app, &creds, &endpoint).await.len() == 1
    })
    .await;

    // Events are sent in commit order: had the other application's been this endpoint's,
    // it would arrive before the next one of its own.
    let other = app.create_app(false).await;
    sign_up(&app, &other, "elsewhere").await;
    sign_up(&app, &creds, "after_elsewhere").await;
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[1].json()["data"]["summary"]["username"],
        "after_elsewhere",
        "another application's events are not this endpoint's"
    );
}

async fn bad_endpoint_input_is_refused_field_by_field_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = app.create_app(false).await;
    let create = |body: Value| {
        send(
            app.admin(&creds, Method::POST, "/api/admin/webhooks")
                .json(&body),
        )
    };
    let long = "d".repeat(257);
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/", "event_types": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://u:p@example.com/", "event_types": ["*"]}),
            "url",
        ),
        (json!({"url": "not a url", "event_types": ["*"]}), "url"),
        (
            json!({"url": "https://example.com/", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["users.*"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["user.made"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/", "event_types": ["*"], "description": long}),
            "description",
        ),
    ] {
        let answer = create(body).await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], field, "{}", answer.1);
    }
    assert_error(
        &create(json!({"url": "https://example.com/", "event_types": ["*"], "secret": "x"})).await,
        422,
        "validation_failed",
    );
    assert_error(
        &create(json!({"url": "https://example.com/"})).await,
        422,
        "validation_failed",
    );
    let (_, listed) = send(app.admin(&creds, Method::GET, "/api/admin/webhooks")).await;
    assert_eq!(listed["webhooks"], json!([]));

    let endpoint = create_endpoint(&app, &creds, "https://example.com/", &["license.*"]).await;
    let path = format!("/api/admin/webhooks/{}", endpoint["id"].as_str().unwrap());
    let answer = send(
        app.admin(&creds, Method::PATCH, &path)
            .json(&json!({"event_types": ["nope"]})),
    )
    .await;
    assert_error(&answer, 422, "validation_failed");
    let rotate = send(
        app.admin(&creds, Method::POST, &format!("{path}/rotate-secret"))
            .json(&json!({"old_valid_for_seconds": 604_801})),
    )
    .await;
    assert_error(&rotate, 422, "validation_failed");
    let (_, shown) = send(app.admin(&creds, Method::GET, &path)).await;
    assert_eq!(shown["event_types"], json!(["license.*"]));
    assert_eq!(shown["previous_secret_expires_at"], Value::Null);
    assert_error(
        &send(app.admin(&creds, Method::GET, "/api/admin/webhooks/not-a-uuid")).await,
        404,
        "not_found",
    );
    let unauthenticated = send(app.client.get(app.url("/api/admin/webhooks"))).await;
    assert_eq!(unauthenticated.0, 401);
}

async fn private_targets_are_refused_unless_allowed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |settings| {
        settings.webhooks.allow_private_targets = false;
    })
    .await;
    let creds = app.create_app(false).await;
    for url in [
        "http://127.0.0.1:8080/hooks",
        "http://localhost/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://10.0.0.8/hooks",
    ] {
        let answer = send(
            app.admin(&creds, Method::POST, "/api/admin/webhooks")
                .json(&json!({"url": url, "event_types": ["*"]})),
        )
        .await;
        assert_error(&answer, 422, "validation_failed");
        assert_eq!(answer.1["field"], "url");
        assert!(
            answer.1["detail"]
                .as_str()
                .unwrap()
                .contains("allow_private_targets"),
            "{}",
            answer.1
        );
    }
    let (_, listed) = send(app.admin(&creds, Method::GET, "/api/admin/webhooks")).await;
    assert_eq!(listed["webhooks"], json!([]));
    let endpoint =
        create_endpoint(&app, &creds, "https://93.184.216.34/hooks", &["license.*"]).await;
    let answer = send(
        app.admin(
            &creds,
            Method::PATCH,
            &format!("/api/admin/webhooks/{}", endpoint["id"].as_str().unwrap()),
        )
        .json(&json!({"url": "http://127.0.0.2/"})),
    )
    .await;
    assert_error(&answer, 422, "validation_failed");
}

/// A server on `url` with these master keys, until `stop` is sent or dropped.
struct Running {
    address: String,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(url: &str, current: &str, previous: Option<&str>) -> Self {
        let mut settings = crate::helpers::settings(url);
        settings.secrets.master_key = Some(secrecy::SecretString::from(current));
        settings.secrets.previous_master_key = previous.map(secrecy::SecretString::from);
        let server = server::Server::build(&settings)
            .await
            .expect("the server starts: every sealed secret opens");
        let address = format!("http://127.0.0.1:{}", server.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            stop,
            served,
        }
    }

    /// Stops it, dispatcher included.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.unwrap().unwrap();
    }
}

async fn a_master_key_rotation_reseals_webhook_secrets_at_start(backend: Backend) {
    const NEW_KEY: &str = "bGF0Y2hrZXktdGVzdC1tYXN0ZXIta2V5LXR3by0zMmI=";
    let db = match backend {
        Backend::Postgres => adapters_postgres::testing::fresh_postgres().await,
        Backend::Sqlite => adapters_postgres::testing::fresh_sqlite().await,
    }
    .unwrap();
    let client = reqwest::Client::new();
    let before = Running::start(&db.url, crate::helpers::MASTER_KEY, None).await;
    let (status, created) = send(
        client
            .post(format!("{}/api/operator/applications", before.address))
            .bearer_auth(crate::helpers::OPERATOR_TOKEN)
            .json(&json!({"name": "rotating", "device_authentication": false})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let admin_key = created["admin_api_key"].as_str().unwrap();
    let receiver = Receiver::start().await;
    let (status, endpoint) = send(
        client
            .post(format!("{}/api/admin/webhooks", before.address))
            .bearer_auth(admin_key)
            .json(&json!({"url": receiver.url, "event_types": ["license.*"]})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap();
    before.stop().await;

    // The rotation's restart, with both keys, reseals; the next starts with the new key only,
    // which it could not do with a secret sealed under the old one.
    Running::start(&db.url, NEW_KEY, Some(crate::helpers::MASTER_KEY))
        .await
        .stop()
        .await;
    let after = Running::start(&db.url, NEW_KEY, None).await;
    let (status, _) = send(
        client
            .post(format!(
                "{}/api/admin/webhooks/{}/test",
                after.address,
                endpoint["id"].as_str().unwrap()
            ))
            .bearer_auth(admin_key),
    )
    .await;
    assert_eq!(status, 202);
    let received = receiver.wait_for(1).await;
    received[0]
        .verify(secret)
        .expect("the same secret, sealed anew");
    after.stop().await;
}
