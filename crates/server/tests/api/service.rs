//! Health endpoints, the OpenAPI document and unknown routes over HTTP.

use crate::helpers::{Backend, TestApp, assert_error, send};
use crate::on_both_backends;

on_both_backends!(health_endpoints_and_the_openapi_document_answer);

async fn health_endpoints_and_the_openapi_document_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        send(app.client.get(app.url("/livez"))).await.1["status"],
        "ok"
    );
    assert_eq!(
        send(app.client.get(app.url("/readyz"))).await.1["status"],
        "ok"
    );

    let (status, document) = send(app.client.get(app.url("/api/openapi.json"))).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/integration/sign_up",
        "/api/integration/sign_up_with_license_code",
        "/api/operator/applications",
        "/api/operator/applications/{id}",
        "/api/admin/licenses",
        "/api/admin/license/{code}",
        "/api/admin/bans",
        "/api/admin/bans/{id}",
        "/api/admin/user/{username_or_license_code}",
        "/livez",
        "/readyz",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }

    assert_error(
        &send(app.client.get(app.url("/nope"))).await,
        404,
        "not_found",
    );
    assert_error(
        &send(app.client.get(app.url("/api/integration/sign_up"))).await,
        405,
        "method_not_allowed",
    );
}
