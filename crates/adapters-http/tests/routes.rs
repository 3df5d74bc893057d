//! The HTTP adapter against mocked services: every route's status and error body as
//! `/work/shared/API.md` defines them, the body rules of `JsonBody`, the three kinds of
//! credentials, the service endpoints and the client IP behind trusted proxies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::App;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use adapters_http::{HttpState, OperatorToken, TrustedProxies};
use chrono::{DateTime, Utc};
use domain::application::{Application, ApplicationName, CreatedApplication};
use domain::ban::BanKind;
use domain::errors::{
    AuthenticateError, CreateBanError, CreateLicensesError, LicenseSignUpError, SignUpError,
};
use domain::event::RequestContext;
use domain::license::{CreatedLicense, License, LicenseDuration};
use domain::ports::MockReadiness;
use domain::services::{
    LicenseBatch, MockAdminApi, MockIntegrationApi, MockOperatorApi, MockResponseSigning,
    MockSignInApi, MockUserAdminApi, PasswordSignUp,
};
use domain::user::{Credential, Membership, User};
use domain::values::{
    ApplicationId, ClientIp, Digest, HardwareId, LicenseCode, LicenseId, Password, PasswordHash,
    UserId, Username,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use uuid::Uuid;

// --- fixtures ---

const API_KEY: &str = "lk_app_test";
const API_SECRET: &str = "lk_sec_test";
const ADMIN_KEY: &str = "lk_adm_test";
const OPERATOR_TOKEN: &str = "op-token";
/// The TCP peer of every request unless a test says otherwise.
const PEER: &str = "203.0.113.1:1234";

fn fixed_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

/// The one application every request authenticates as; deterministic, so mocks can compare.
fn application() -> Application {
    Application {
        id: ApplicationId::from_uuid(Uuid::from_u128(0xA11)),
        name: ApplicationName::parse("Test App").unwrap(),
        device_authentication: false,
        api_key: API_KEY.to_owned(),
        api_secret_digest: Digest::of(API_SECRET),
        admin_api_key_digest: Digest::of(ADMIN_KEY),
        settings: domain::application::ApplicationSettings::default(),
        previous_api_secret: None,
        previous_admin_api_key: None,
        response_signing_keys: None,
        request_signing_keys: None,
        sealed_files_key: None,
        created_at: fixed_time(),
    }
}

fn user(username: &str) -> User {
    User {
        id: UserId::generate(),
        username: username.to_owned(),
        credential: Credential::Password(PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_owned(),
        )),
        membership: Membership::default(),
        signup_ip: None,
        last_ip: None,
        device_limit: None,
        session_limit: None,
        created_at: fixed_time(),
    }
}

fn license_user() -> User {
    User {
        credential: Credential::LicenseCode,
        membership: Membership {
            is_lifetime: true,
            active_until: None,
        },
        ..user("user-generated")
    }
}

fn client_ip(ip: &str) -> ClientIp {
    ClientIp::parse(ip).unwrap()
}

fn peer(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

// --- the app ---

/// The mocked services behind one app, and its configuration.
struct Mocks {
    user_admin: MockUserAdminApi,
    sign_in: MockSignInApi,
    integration: MockIntegrationApi,
    admin: MockAdminApi,
    operator: MockOperatorApi,
    files: domain::services::MockFilesApi,
    response_signing: MockResponseSigning,
    readiness: MockReadiness,
    operator_token: Option<OperatorToken>,
    trusted_proxies: TrustedProxies,
}

/// Answers go out unsigned: signing is tested end to end, against real keys.
fn unsigned() -> MockResponseSigning {
    let mut signing = MockResponseSigning::new();
    signing.expect_response_keys().returning(|_| Vec::new());
    signing
}

impl Mocks {
    /// No expectations: any call to a service panics, which fails the test.
    fn new() -> Self {
        Self {
            integration: MockIntegrationApi::new(),
            sign_in: MockSignInApi::new(),
            user_admin: MockUserAdminApi::new(),
            admin: MockAdminApi::new(),
            operator: MockOperatorApi::new(),
            files: domain::services::MockFilesApi::new(),
            response_signing: unsigned(),
            readiness: MockReadiness::new(),
            operator_token: Some(OperatorToken::new(OPERATOR_TOKEN)),
            trusted_proxies: TrustedProxies::default(),
        }
    }

    /// The integration credentials of [`application`] are accepted.
    fn integration_authenticated() -> Self {
        let mut mocks = Self::new();
        mocks
            .integration
            .expect_authenticate()
            .withf(|key, secret| key == API_KEY && secret == API_SECRET)
            .returning(|_, _| Ok(application()));
        mocks
    }

    /// The admin key of [`application`] is accepted.
    fn admin_authenticated() -> Self {
        let mut mocks = Self::new();
        mocks
            .admin
            .expect_authenticate_admin()
            .withf(|key| key == ADMIN_KEY)
            .returning(|_| Ok(application()));
        mocks
    }

    fn into_state(self) -> HttpState {
        HttpState {
            integration: Arc::new(self.integration),
            sign_in: Arc::new(self.sign_in),
            user_admin: Arc::new(self.user_admin),
            admin: Arc::new(self.admin),
            webhooks: Arc::new(domain::services::MockWebhookApi::new()),
            files: Arc::new(self.files),
            operator: Arc::new(self.operator),
            response_signing: Arc::new(self.response_signing),
            request_signing: Arc::new(domain::services::MockRequestSigning::new()),
            readiness: Arc::new(self.readiness),
            limiter: Arc::new(domain::ports::NoLimits),
            operator_token: self.operator_token,
            trusted_proxies: self.trusted_proxies,
        }
    }
}

/// What came back.
struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    /// `Null` when the body is empty.
    body: Value,
}

impl Reply {
    /// Asserts the contract's error body: this status, this `code`, a non-empty `detail`.
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "body: {}",
            self.body
        );
    }

    /// Asserts a 422 `validation_failed` naming `field`.
    fn assert_invalid_field(&self, field: &str) {
        self.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(self.body["field"], field, "body: {}", self.body);
    }
}

/// Builds the app exactly as the server does and sends one request to it.
async fn send(mocks: Mocks, request: TestRequest) -> Reply {
    let state = mocks.into_state();
    let app = test::init_service(App::new().configure(|cfg| state.configure(cfg))).await;
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        headers,
        body,
    }
}

// --- requests ---

fn with_integration_credentials(request: TestRequest) -> TestRequest {
    request
        .insert_header(("x-api-key", API_KEY))
        .insert_header(("x-api-secret", API_SECRET))
}

/// `POST path` with the application's credentials, from [`PEER`], and no body yet.
fn integration_post(path: &str) -> TestRequest {
    with_integration_credentials(TestRequest::post().uri(path).peer_addr(peer(PEER)))
}

fn sign_up(body: &Value) -> TestRequest {
    integration_post("/api/integration/sign_up").set_json(body)
}

fn valid_sign_up_body() -> Value {
    json!({"username": "john_doe", "password": "secure_password123", "hardware_id": "device-1"})
}

fn license_sign_up(body: &Value) -> TestRequest {
    integration_post("/api/integration/sign_up_with_license_code").set_json(body)
}

fn bearer(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
}

fn admin(method: Method, path: &str) -> TestRequest {
    bearer(TestRequest::default().method(method).uri(path), ADMIN_KEY)
}

fn operator(method: Method, path: &str) -> TestRequest {
    bearer(
        TestRequest::default().method(method).uri(path),
        OPERATOR_TOKEN,
    )
}

// --- integration: credentials ---

#[actix_web::test]
async fn a_sign_up_without_both_credential_headers_is_401_and_never_asks_the_service() {
    let cases = [
        TestRequest::post(),
        TestRequest::post().insert_header(("x-api-key", API_KEY)),
        TestRequest::post().insert_header(("x-api-secret", API_SECRET)),
    ];
    for request in cases {
        let mut mocks = Mocks::new();
        mocks.integration.expect_authenticate().never();
        mocks.integration.expect_sign_up().never();
        let request = request
            .uri("/api/integration/sign_up")
            .peer_addr(peer(PEER))
            .set_json(valid_sign_up_body());
        let reply = send(mocks, request).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_application_credentials");
    }
}

#[actix_web::test]
async fn a_sign_up_with_wrong_credentials_is_401_with_the_same_body() {
    let mut mocks = Mocks::new();
    mocks
        .integration
        .expect_authenticate()
        .times(1)
        .return_once(|_, _| Err(AuthenticateError::InvalidCredentials));
    mocks.integration.expect_sign_up().never();
    let reply = send(mocks, sign_up(&valid_sign_up_body())).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_application_credentials");
    assert_eq!(
        reply.body,
        json!({"detail": "invalid application credentials", "code": "invalid_application_credentials"})
    );
}

// --- integration: sign_up ---

#[actix_web::test]
async fn a_valid_sign_up_passes_parsed_values_to_the_service_and_returns_the_user() {
    let created = user("john_doe");
    let id = created.id.as_uuid();
    let expected = PasswordSignUp {
        username: Username::parse("john_doe").unwrap(),
        password: Password::parse("secure_password123").unwrap(),
        hardware_id: Some(HardwareId::parse("device-1").unwrap()),
        context: RequestContext {
            client_ip: client_ip("203.0.113.1"),
            user_agent: Some("vendor-app/2.1".to_owned()),
            request_id: Some("req-42".to_owned()),
        },
    };
    let mut mocks = Mocks::integration_authenticated();
    mocks
        .integration
        .expect_sign_up()
        .withf(move |app, request| *app == application() && *request == expected)
        .times(1)
        .return_once(move |_, _| Ok(created));
    let request = sign_up(&valid_sign_up_body())
        .insert_header(("user-agent", "vendor-app/2.1"))
        .insert_header(("x-request-id", "req-42"));
    let reply = send(mocks, request).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert_eq!(reply.body["id"], id.to_string());
    assert_eq!(reply.body["username"], "john_doe");
    assert_eq!(reply.body["membership"]["is_active"], false);
    assert_eq!(reply.body["membership"]["is_lifetime"], false);
    assert_eq!(reply.body["membership"]["active_until"], Value::Null);
}

/// Sends a valid sign-up whose service call fails with `error`.
async fn sign_up_failing_with(error: SignUpError) -> Reply {
    let mut mocks = Mocks::integration_authenticated();
    mocks
        .integration
        .expect_sign_up()
        .times(1)
        .return_once(move |_, _| Err(error));
    send(mocks, sign_up(&valid_sign_up_body())).await
}

#[actix_web::test]
async fn a_sign_up_without_a_required_hardware_id_is_422_naming_hardware_id() {
    let reply = sign_up_failing_with(SignUpError::HardwareIdRequired).await;
    reply.assert_invalid_field("hardware_id");
}

#[actix_web::test]
async fn a_sign_up_from_a_banned_ip_is_403_banned() {
    let reply = sign_up_failing_with(SignUpError::Banned(BanKind::Ip)).await;
    reply.assert_error(StatusCode::FORBIDDEN, "banned");
}

#[actix_web::test]
async fn a_sign_up_with_a_taken_username_is_422_username_taken() {
    let reply = sign_up_failing_with(SignUpError::UsernameTaken).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "username_taken");
}

#[actix_web::test]
async fn a_sign_up_shed_by_a_busy_hasher_is_503_with_retry_after() {
    let reply = sign_up_failing_with(SignUpError::Busy).await;
    reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(reply.headers.contains_key("retry-after"));
}

#[actix_web::test]
async fn an_unexpected_sign_up_failure_is_500_with_a_body_that_hides_the_cause() {
    let cause = anyhow::anyhow!("connection to db.internal:5432 refused")
        .context("SELECT password_hash FROM users");
    let reply = sign_up_failing_with(SignUpError::Unknown(cause)).await;
    reply.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    let text = reply.body.to_string();
    for secret in ["db.internal", "5432", "refused", "SELECT", "password_hash"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

// --- integration: body rules ---

/// An app whose sign_up succeeds, once, with whatever it is given.
fn mocks_accepting_one_sign_up() -> Mocks {
    let mut mocks = Mocks::integration_authenticated();
    mocks
        .integration
        .expect_sign_up()
        .times(1)
        .return_once(|_, _| Ok(user("john_doe")));
    mocks
}

/// An app whose sign_up must not be reached: the body is rejected first.
fn mocks_rejecting_the_body() -> Mocks {
    let mut mocks = Mocks::integration_authenticated();
    mocks.integration.expect_sign_up().never();
    mocks
}

fn raw_sign_up(payload: impl Into<actix_web::web::Bytes>) -> TestRequest {
    integration_post("/api/integration/sign_up").set_payload(payload)
}

#[actix_web::test]
async fn a_text_plain_body_is_415() {
    let request = raw_sign_up(valid_sign_up_body().to_string())
        .insert_header((header::CONTENT_TYPE, "text/plain"));
    let reply = send(mocks_rejecting_the_body(), request).await;
    reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[actix_web::test]
async fn a_json_body_without_a_content_type_is_accepted() {
    let request = raw_sign_up(valid_sign_up_body().to_string());
    let reply = send(mocks_accepting_one_sign_up(), request).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert_eq!(reply.body["username"], "john_doe");
}

#[actix_web::test]
async fn a_plus_json_content_type_is_accepted() {
    let request = raw_sign_up(valid_sign_up_body().to_string())
        .insert_header((header::CONTENT_TYPE, "application/vnd.api+json"));
    let reply = send(mocks_accepting_one_sign_up(), request).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413() {
    let padding = "x".repeat(adapters_http::MAX_BODY_BYTES);
    let body =
        json!({"username": "john_doe", "password": "secure_password123", "hardware_id": padding});
    let reply = send(mocks_rejecting_the_body(), sign_up(&body)).await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[actix_web::test]
async fn a_truncated_json_body_is_422_invalid_json() {
    let request =
        raw_sign_up(r#"{"username": "#).insert_header((header::CONTENT_TYPE, "application/json"));
    let reply = send(mocks_rejecting_the_body(), request).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json");
}

#[actix_web::test]
async fn a_missing_password_is_422_naming_password() {
    let body = json!({"username": "john_doe"});
    let reply = send(mocks_rejecting_the_body(), sign_up(&body)).await;
    reply.assert_invalid_field("password");
}

#[actix_web::test]
async fn a_two_character_username_is_422_naming_username_and_never_reaches_the_service() {
    let body = json!({"username": "ab", "password": "secure_password123"});
    let reply = send(mocks_rejecting_the_body(), sign_up(&body)).await;
    reply.assert_invalid_field("username");
}

#[actix_web::test]
async fn a_seven_character_password_is_422_naming_password() {
    let body = json!({"username": "john_doe", "password": "1234567"});
    let reply = send(mocks_rejecting_the_body(), sign_up(&body)).await;
    reply.assert_invalid_field("password");
}

#[actix_web::test]
async fn a_hardware_id_with_a_control_character_is_422_naming_hardware_id() {
    let body = json!({"username": "john_doe", "password": "secure_password123", "hardware_id": "dev\u{7}1"});
    let reply = send(mocks_rejecting_the_body(), sign_up(&body)).await;
    reply.assert_invalid_field("hardware_id");
}

// --- integration: sign_up_with_license_code ---

fn valid_license_body() -> Value {
    json!({"code": "ABC123XYZ789", "hardware_id": "device-1"})
}

async fn license_sign_up_failing_with(error: LicenseSignUpError) -> Reply {
    let mut mocks = Mocks::integration_authenticated();
    mocks
        .integration
        .expect_sign_up_with_license_code()
        .times(1)
        .return_once(move |_, _| Err(error));
    send(mocks, license_sign_up(&valid_license_body())).await
}

#[actix_web::test]
async fn a_valid_license_sign_up_returns_an_active_user() {
    let created = license_user();
    let id = created.id.as_uuid();
    let mut mocks = Mocks::integration_authenticated();
    mocks
        .integration
        .expect_sign_up_with_license_code()
        .withf(|app, request| {
            *app == application()
                && request.code == LicenseCode::parse("abc-123-xyz-789").unwrap()
                && request.hardware_id == Some(HardwareId::parse("device-1").unwrap())
                && request.context.client_ip == client_ip("203.0.113.1")
        })
        .times(1)
        .return_once(move |_, _| Ok(created));
    let reply = send(mocks, license_sign_up(&valid_license_body())).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert_eq!(reply.body["id"], id.to_string());
    assert_eq!(reply.body["username"], "user-generated");
    assert_eq!(reply.body["membership"]["is_active"], true);
}

#[actix_web::test]
async fn an_invalid_license_code_is_422_invalid_license_code() {
    let reply = license_sign_up_failing_with(LicenseSignUpError::InvalidCode).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_license_code");
}

#[actix_web::test]
async fn a_banned_license_is_403_banned() {
    let reply = license_sign_up_failing_with(LicenseSignUpError::Banned(BanKind::License)).await;
    reply.assert_error(StatusCode::FORBIDDEN, "banned");
}

#[actix_web::test]
async fn a_license_code_of_65_characters_is_422_naming_code() {
    let mut mocks = Mocks::integration_authenticated();
    mocks.integration.expect_sign_up_with_license_code().never();
    let body = json!({"code": "A".repeat(65)});
    let reply = send(mocks, license_sign_up(&body)).await;
    reply.assert_invalid_field("code");
}

// --- admin ---

#[actix_web::test]
async fn an_admin_call_without_a_bearer_token_is_401_and_never_asks_the_service() {
    let mut mocks = Mocks::new();
    mocks.admin.expect_authenticate_admin().never();
    let request = TestRequest::post()
        .uri("/api/admin/licenses")
        .set_json(json!({"count": 1}));
    let reply = send(mocks, request).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_admin_key");
}

#[actix_web::test]
async fn an_admin_call_with_a_wrong_bearer_token_is_401() {
    let mut mocks = Mocks::new();
    mocks
        .admin
        .expect_authenticate_admin()
        .withf(|key| key == "lk_adm_wrong")
        .times(1)
        .return_once(|_| Err(AuthenticateError::InvalidCredentials));
    mocks.admin.expect_create_licenses().never();
    let request = bearer(
        TestRequest::post().uri("/api/admin/licenses"),
        "lk_adm_wrong",
    )
    .set_json(json!({"count": 1}));
    let reply = send(mocks, request).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_admin_key");
}

fn create_licenses(body: &Value) -> TestRequest {
    admin(Method::POST, "/api/admin/licenses").set_json(body)
}

#[actix_web::test]
async fn creating_zero_licenses_is_422_naming_count() {
    let mut mocks = Mocks::admin_authenticated();
    mocks.admin.expect_create_licenses().never();
    let reply = send(mocks, create_licenses(&json!({"count": 0}))).await;
    reply.assert_invalid_field("count");
}

#[actix_web::test]
async fn creating_licenses_with_both_count_and_codes_is_422_naming_codes() {
    let mut mocks = Mocks::admin_authenticated();
    mocks.admin.expect_create_licenses().never();
    let body = json!({"count": 1, "codes": ["ABCD-1234"]});
    let reply = send(mocks, create_licenses(&body)).await;
    reply.assert_invalid_field("codes");
}

fn created_license(code: &str) -> CreatedLicense {
    CreatedLicense {
        license: License {
            id: LicenseId::generate(),
            duration: LicenseDuration::Minutes(43_200),
            activated_at: None,
            activated_by: None,
            created_at: fixed_time(),
        },
        code: LicenseCode::parse(code).unwrap(),
    }
}

#[actix_web::test]
async fn created_licenses_are_201_with_their_codes() {
    let created = vec![
        created_license("ABCD1234EFGH5678"),
        created_license("WXYZ9876"),
    ];
    let first_id = created[0].license.id.as_uuid();
    let mut mocks = Mocks::admin_authenticated();
    mocks
        .admin
        .expect_create_licenses()
        .withf(|app, batch, _| {
            *app == application().id && *batch == LicenseBatch::generate(2, Some(43_200)).unwrap()
        })
        .times(1)
        .return_once(move |_, _, _| Ok(created));
    let reply = send(
        mocks,
        create_licenses(&json!({"count": 2, "minutes": 43200})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.body);
    let licenses = reply.body["licenses"].as_array().unwrap();
    assert_eq!(licenses.len(), 2);
    assert_eq!(licenses[0]["id"], first_id.to_string());
    assert_eq!(licenses[0]["code"], "ABCD-1234-EFGH-5678");
    assert_eq!(licenses[0]["minutes"], 43_200);
    assert_eq!(licenses[1]["code"], "WXYZ-9876");
    assert!(licenses[0]["created_at"].is_string());
}

#[actix_web::test]
async fn importing_an_existing_code_is_409_license_code_exists() {
    let mut mocks = Mocks::admin_authenticated();
    mocks
        .admin
        .expect_create_licenses()
        .times(1)
        .return_once(|_, _, _| Err(CreateLicensesError::DuplicateCode));
    let reply = send(mocks, create_licenses(&json!({"codes": ["ABCD-1234"]}))).await;
    reply.assert_error(StatusCode::CONFLICT, "license_code_exists");
}

#[actix_web::test]
async fn looking_up_an_unknown_license_is_404() {
    let mut mocks = Mocks::admin_authenticated();
    mocks
        .admin
        .expect_find_license()
        .withf(|app, code| {
            *app == application().id && *code == LicenseCode::parse("ABCD1234").unwrap()
        })
        .times(1)
        .return_once(|_, _| Ok(None));
    let reply = send(mocks, admin(Method::GET, "/api/admin/license/abcd-1234")).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn deleting_a_ban_by_a_malformed_id_is_404() {
    let mut mocks = Mocks::admin_authenticated();
    mocks.admin.expect_delete_ban().never();
    let reply = send(mocks, admin(Method::DELETE, "/api/admin/bans/not-a-uuid")).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

async fn delete_ban_answering(deleted: bool) -> Reply {
    let id = Uuid::now_v7();
    let mut mocks = Mocks::admin_authenticated();
    mocks
        .admin
        .expect_delete_ban()
        .withf(move |app, ban, _| *app == application().id && ban.as_uuid() == id)
        .times(1)
        .return_once(move |_, _, _| Ok(deleted));
    send(
        mocks,
        admin(Method::DELETE, &format!("/api/admin/bans/{id}")),
    )
    .await
}

#[actix_web::test]
async fn deleting_an_unknown_ban_is_404() {
    let reply = delete_ban_answering(false).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn deleting_a_ban_is_204_with_no_body() {
    let reply = delete_ban_answering(true).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null);
}

fn create_ban(body: &Value) -> TestRequest {
    admin(Method::POST, "/api/admin/bans").set_json(body)
}

#[actix_web::test]
async fn a_ban_of_an_unknown_type_is_422_naming_type() {
    let mut mocks = Mocks::admin_authenticated();
    mocks.admin.expect_create_ban().never();
    let reply = send(mocks, create_ban(&json!({"type": "nope", "value": "x"}))).await;
    reply.assert_invalid_field("type");
}

#[actix_web::test]
async fn an_ip_ban_of_a_malformed_address_is_422_naming_value() {
    let mut mocks = Mocks::admin_authenticated();
    mocks.admin.expect_create_ban().never();
    let reply = send(
        mocks,
        create_ban(&json!({"type": "ip", "value": "1.2.3.999"})),
    )
    .await;
    reply.assert_invalid_field("value");
}

#[actix_web::test]
async fn a_ban_of_an_unknown_license_is_422_naming_value() {
    let mut mocks = Mocks::admin_authenticated();
    mocks
        .admin
        .expect_create_ban()
        .times(1)
        .return_once(|_, _, _| Err(CreateBanError::UnknownLicense));
    let body = json!({"type": "license", "value": "ABCD-1234", "reason": "chargeback"});
    let reply = send(mocks, create_ban(&body)).await;
    reply.assert_invalid_field("value");
}

// --- operator ---

#[actix_web::test]
async fn without_a_configured_operator_token_the_operator_api_is_404() {
    let mut mocks = Mocks::new();
    mocks.operator_token = None;
    mocks.operator.expect_create_application().never();
    let request =
        operator(Method::POST, "/api/operator/applications").set_json(json!({"name": "My App"}));
    let reply = send(mocks, request).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn a_wrong_operator_token_is_401() {
    let mut mocks = Mocks::new();
    mocks.operator.expect_create_application().never();
    let request = bearer(
        TestRequest::post().uri("/api/operator/applications"),
        "not-the-token",
    )
    .set_json(json!({"name": "My App"}));
    let reply = send(mocks, request).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_operator_token");
}

#[actix_web::test]
async fn creating_an_application_is_201_and_shows_its_secrets_once() {
    let master = domain::crypto::MasterKey::from_bytes(&[1; 32]).unwrap();
    let created = CreatedApplication::generate(
        ApplicationName::parse("My App").unwrap(),
        true,
        fixed_time(),
        &master,
    )
    .unwrap();
    let secret = created.api_secret.expose().to_owned();
    let admin_key = created.admin_api_key.expose().to_owned();
    let id = created.application.id.as_uuid();
    let mut mocks = Mocks::new();
    mocks
        .operator
        .expect_create_application()
        // device_authentication defaults to true
        .withf(|name, device_authentication| name.as_str() == "My App" && *device_authentication)
        .times(1)
        .return_once(move |_, _| Ok(created));
    mocks
        .files
        .expect_files_key()
        .times(1)
        .returning(|_| Ok(Some(zeroize::Zeroizing::new("ab".repeat(32)))));
    let request =
        operator(Method::POST, "/api/operator/applications").set_json(json!({"name": "My App"}));
    let reply = send(mocks, request).await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.body);
    assert_eq!(reply.body["id"], id.to_string());
    assert_eq!(reply.body["name"], "My App");
    assert_eq!(reply.body["device_authentication"], true);
    assert!(
        reply.body["api_key"]
            .as_str()
            .is_some_and(|key| key.starts_with("lk_app_"))
    );
    assert_eq!(reply.body["api_secret"], secret);
    assert_eq!(reply.body["admin_api_key"], admin_key);
    assert_eq!(reply.body["files_key"], "ab".repeat(32));
    assert!(reply.body["created_at"].is_string());
}

#[actix_web::test]
async fn updating_an_unknown_application_is_404() {
    let id = Uuid::now_v7();
    let mut mocks = Mocks::new();
    mocks
        .operator
        .expect_update_application()
        .withf(move |app, update, _| {
            app.as_uuid() == id
                && update.device_authentication == Some(false)
                && update.name.is_none()
        })
        .times(1)
        .return_once(|_, _, _| Ok(None));
    let request = operator(Method::PATCH, &format!("/api/operator/applications/{id}"))
        .set_json(json!({"device_authentication": false}));
    let reply = send(mocks, request).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
}

// --- service endpoints ---

#[actix_web::test]
async fn livez_is_200_without_touching_readiness() {
    let mut mocks = Mocks::new();
    mocks.readiness.expect_check().never();
    let reply = send(mocks, TestRequest::get().uri("/livez")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));
}

#[actix_web::test]
async fn readyz_is_200_when_the_database_answers() {
    let mut mocks = Mocks::new();
    mocks
        .readiness
        .expect_check()
        .times(1)
        .return_once(|| Ok(()));
    let reply = send(mocks, TestRequest::get().uri("/readyz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"status": "ok"}));
}

#[actix_web::test]
async fn readyz_is_503_with_retry_after_when_the_database_does_not_answer() {
    let mut mocks = Mocks::new();
    mocks
        .readiness
        .expect_check()
        .times(1)
        .return_once(|| Err(anyhow::anyhow!("pool timed out")));
    let reply = send(mocks, TestRequest::get().uri("/readyz")).await;
    reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    assert!(!reply.body.to_string().contains("pool"));
}

#[actix_web::test]
async fn the_openapi_document_is_3_1_and_lists_the_integration_routes() {
    let reply = send(Mocks::new(), TestRequest::get().uri("/api/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1")),
        "openapi: {}",
        reply.body["openapi"]
    );
    let paths = reply.body["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/integration/sign_up"));
    assert!(paths.contains_key("/api/integration/sign_up_with_license_code"));
}

#[actix_web::test]
async fn an_unknown_route_is_404_in_the_error_format() {
    let reply = send(Mocks::new(), TestRequest::get().uri("/api/nowhere")).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        reply.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
}

#[actix_web::test]
async fn a_get_on_sign_up_is_405_in_the_error_format() {
    let mut mocks = Mocks::new();
    mocks.integration.expect_authenticate().never();
    let request = with_integration_credentials(TestRequest::get().uri("/api/integration/sign_up"));
    let reply = send(mocks, request).await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(reply.headers.get(header::ALLOW).unwrap(), "POST");
}

#[actix_web::test]
async fn a_405_names_every_method_the_resource_has() {
    let request = TestRequest::delete().uri("/api/admin/settings");
    let reply = send(Mocks::new(), request).await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(reply.headers.get(header::ALLOW).unwrap(), "GET, PATCH");
}

// --- client ip ---

/// Sends a sign-up from `peer_addr` through a proxy chain, with `10.0.0.0/8` trusted, and
/// returns the IP the service was given.
async fn sign_up_ip_seen_by_the_service(peer_addr: &str, forwarded_for: &str) -> ClientIp {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let mut mocks = Mocks::integration_authenticated();
    mocks.trusted_proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
    let record = Arc::clone(&seen);
    mocks
        .integration
        .expect_sign_up()
        .times(1)
        .return_once(move |_, request| {
            *record.lock().unwrap() = Some(request.context.client_ip);
            Ok(user("john_doe"))
        });
    let request = with_integration_credentials(
        TestRequest::post()
            .uri("/api/integration/sign_up")
            .peer_addr(peer(peer_addr)),
    )
    .insert_header(("x-forwarded-for", forwarded_for))
    .set_json(valid_sign_up_body());
    let reply = send(mocks, request).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    seen.lock().unwrap().take().unwrap()
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_forwarded_address() {
    let ip = sign_up_ip_seen_by_the_service("10.0.0.1:1234", "6.6.6.6, 198.51.100.7").await;
    assert_eq!(ip, client_ip("198.51.100.7"));
}

#[actix_web::test]
async fn from_an_untrusted_peer_the_forwarded_header_is_ignored() {
    let ip = sign_up_ip_seen_by_the_service("203.0.113.1:1234", "6.6.6.6, 198.51.100.7").await;
    assert_eq!(ip, client_ip("203.0.113.1"));
}

#[actix_web::test]
async fn the_openapi_document_states_the_input_rules() {
    let reply = send(Mocks::new(), TestRequest::get().uri("/api/openapi.json")).await;
    let doc = &reply.body;
    let schemas = &doc["components"]["schemas"];

    let credentials = &schemas["LoginRequest"]["properties"]["credentials"]["oneOf"];
    let required: Vec<&Value> = credentials
        .as_array()
        .unwrap()
        .iter()
        .map(|one| &one["required"])
        .collect();
    assert_eq!(
        required,
        [&json!(["username", "password"]), &json!(["code"])]
    );
    assert_eq!(
        schemas["SignUpRequest"]["properties"]["password"],
        json!({"type": "string", "minLength": 8, "maxLength": 128})
    );

    let adjust = &schemas["AdjustMembershipTimeRequest"]["properties"];
    assert_eq!(adjust["minutes"]["maximum"], 52_560_000);
    assert_eq!(adjust["minutes"]["minimum"], 1);
    assert_eq!(
        schemas["MembershipTimeAction"]["enum"],
        json!(["add", "remove"])
    );
    assert_eq!(
        schemas["LifetimeAction"]["enum"],
        json!(["grant", "revoke"])
    );
    assert_eq!(
        schemas["CreateLicensesRequest"]["oneOf"][0]["required"],
        json!(["count"])
    );

    let parameter = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has no {name}"))["schema"]
            .clone()
    };
    assert_eq!(
        parameter("/api/admin/bans", "cursor")["pattern"],
        "^[A-Za-z0-9_-]{21}[AQgw]$"
    );
    let actions = parameter("/api/admin/audit", "action")["enum"].clone();
    assert_eq!(
        actions.as_array().unwrap().len(),
        domain::event::EventType::ALL.len()
    );
    assert!(
        actions
            .as_array()
            .unwrap()
            .contains(&json!("license.redeemed"))
    );
}
