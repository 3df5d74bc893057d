//! `/api/integration`: the calls of users who already exist.

use crate::auth::IntegrationApp;
use crate::caller::{answer, caller};
use crate::client_ip::ClientAddress;
use crate::dto_sign_in::{
    ActivateLicenseRequest, AdjustmentResponse, AppContextResponse, LoginRequest, LoginResponse,
};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::origin::Origin;
use crate::{outcomes, throttle};
use actix_web::{HttpRequest, web};
use domain::errors::{ActivateLicenseError, LoginError};
use domain::ports::RateLimiter;
use domain::services::SignInApi;

/// Sign in with a username and password, or a license code; returns a session token.
#[utoipa::path(
    post, path = "/api/integration/auth/login", tag = "integration",
    request_body = LoginRequest,
    security(("api_key" = [], "api_secret" = [])),
    responses(
        (status = 200, description = "A new session", body = LoginResponse),
        (status = 401, description = "Wrong credentials (one body for unknown user and wrong password), device authentication required, maximum number of devices or of simultaneous sessions reached", body = ErrorBody),
        (status = 403, description = "Banned, or the membership is not active", body = ErrorBody),
        (status = 422, description = "Validation failed or invalid JSON", body = ErrorBody),
        (status = 429, description = "Too many requests or failed attempts from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "Overloaded or the database is unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn login(
    app: IntegrationApp,
    origin: Origin,
    service: web::Data<dyn SignInApi>,
    limiter: web::Data<dyn RateLimiter>,
    body: JsonBody<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let ip = origin.0.client_ip;
    let request = body.0.try_into_domain(origin.0)?;
    let account = throttle::password_account(&request.credentials);
    throttle::before_attempt(limiter.as_ref(), app.0.id, ip, account.as_deref()).await?;
    let error = match service.login(&app.0, request).await {
        Ok(signed_in) => {
            outcomes::signed_in("success");
            return Ok(web::Json(signed_in.into()));
        }
        Err(error) => login_error(error),
    };
    outcomes::signed_in("refused");
    Err(throttle::after_failure(limiter.as_ref(), app.0.id, ip, account.as_deref(), error).await)
}

/// The refusals of a sign-in, and of credentials given instead of a session.
pub(crate) fn login_error(error: LoginError) -> ApiError {
    match error {
        LoginError::InvalidCredentials => ApiError::InvalidCredentials,
        LoginError::DeviceAuthenticationRequired => ApiError::DeviceAuthenticationRequired,
        LoginError::MaxDevicesReached => ApiError::MaxDevicesReached,
        LoginError::MaxSessionsReached => ApiError::MaxSessionsReached,
        LoginError::Banned(kind) => {
            outcomes::ban_hit(kind);
            ApiError::Banned
        }
        LoginError::MembershipInactive => ApiError::MembershipInactive,
        LoginError::Busy => ApiError::Unavailable,
        LoginError::Unknown(error) => ApiError::from(error),
    }
}

/// Add a license's time (or lifetime access) to an existing user's membership.
#[utoipa::path(
    post, path = "/api/integration/activate_license", tag = "integration",
    request_body = ActivateLicenseRequest,
    security(("api_key" = [], "api_secret" = [])),
    responses(
        (status = 200, description = "The membership adjustment", body = AdjustmentResponse),
        (status = 401, description = "Wrong credentials, or an unknown or used code", body = ErrorBody),
        (status = 403, description = "The IP, the user or the license is banned", body = ErrorBody),
        (status = 422, description = "Validation failed or invalid JSON", body = ErrorBody),
        (status = 429, description = "Too many requests or failed attempts from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "Overloaded or the database is unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn activate_license(
    app: IntegrationApp,
    origin: Origin,
    service: web::Data<dyn SignInApi>,
    limiter: web::Data<dyn RateLimiter>,
    body: JsonBody<ActivateLicenseRequest>,
) -> Result<web::Json<AdjustmentResponse>, ApiError> {
    let ip = origin.0.client_ip;
    let request = body.0.try_into_domain(origin.0)?;
    let account = Some(request.username.canonical().to_owned());
    throttle::before_attempt(limiter.as_ref(), app.0.id, ip, account.as_deref()).await?;
    let error = match service.activate_license(&app.0, request).await {
        Ok(adjustment) => {
            outcomes::redeemed("activation");
            return Ok(web::Json(adjustment.into()));
        }
        Err(ActivateLicenseError::InvalidCredentials) => ApiError::InvalidCredentials,
        Err(ActivateLicenseError::InvalidCode) => ApiError::ActivationCodeInvalid,
        Err(ActivateLicenseError::Banned(kind)) => {
            outcomes::ban_hit(kind);
            ApiError::Banned
        }
        Err(ActivateLicenseError::Busy) => ApiError::Unavailable,
        Err(ActivateLicenseError::Unknown(error)) => ApiError::from(error),
    };
    Err(throttle::after_failure(limiter.as_ref(), app.0.id, ip, account.as_deref(), error).await)
}

/// The signed-in user's application, variables and membership.
#[utoipa::path(
    get, path = "/api/integration/app_context", tag = "integration",
    security(("api_key" = [], "api_secret" = [], "session_token" = [])),
    responses(
        (status = 200, description = "The application context", body = AppContextResponse),
        (status = 401, description = "Missing, unknown, expired or revoked session token", body = ErrorBody),
        (status = 403, description = "The IP or the user is banned", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "The database is unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn app_context(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn SignInApi>,
    limiter: web::Data<dyn RateLimiter>,
    req: HttpRequest,
) -> Result<web::Json<AppContextResponse>, ApiError> {
    let caller = caller(&req, &app.0, ip.0)?;
    let context = answer(limiter.as_ref(), &app.0, ip.0, caller, |caller| {
        service.app_context(&app.0, caller, ip.0)
    })
    .await?;
    Ok(web::Json(context.into()))
}
