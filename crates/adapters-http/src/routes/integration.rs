//! `/api/integration`: what a vendor's shipped program calls.

use crate::auth::IntegrationApp;
use crate::dto::{LicenseSignUpRequest, SignUpRequest, UserResponse};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::origin::Origin;
use crate::{outcomes, throttle};
use actix_web::web;
use domain::errors::{LicenseSignUpError, SignUpError};
use domain::ports::RateLimiter;
use domain::services::IntegrationApi;

fn hardware_id_required() -> ApiError {
    ApiError::field("hardware_id", "is required by this application")
}

/// Sign up with a username and password.
#[utoipa::path(
    post, path = "/api/integration/sign_up", tag = "integration",
    request_body = SignUpRequest,
    security(("api_key" = [], "api_secret" = [])),
    responses(
        (status = 200, description = "The new user", body = UserResponse),
        (status = 401, description = "Missing or wrong application credentials", body = ErrorBody),
        (status = 403, description = "The client IP or hardware id is banned", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Validation failed, invalid JSON, or username taken", body = ErrorBody),
        (status = 429, description = "Too many requests or sign-ups from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "Overloaded: too many sign-ups waiting to be hashed; see Retry-After", body = ErrorBody),
    )
)]
pub async fn sign_up(
    app: IntegrationApp,
    origin: Origin,
    service: web::Data<dyn IntegrationApi>,
    limiter: web::Data<dyn RateLimiter>,
    body: JsonBody<SignUpRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let ip = origin.0.client_ip;
    let request = body.0.try_into_domain(origin.0)?;
    throttle::sign_up(limiter.as_ref(), app.0.id, ip).await?;
    let user = service
        .sign_up(&app.0, request)
        .await
        .map_err(|error| match error {
            SignUpError::HardwareIdRequired => hardware_id_required(),
            SignUpError::Banned(kind) => {
                outcomes::ban_hit(kind);
                ApiError::Banned
            }
            SignUpError::UsernameTaken => ApiError::UsernameTaken,
            SignUpError::Busy => ApiError::Unavailable,
            SignUpError::Unknown(error) => ApiError::from(error),
        })?;
    outcomes::signed_up("password");
    Ok(web::Json(user.into()))
}

/// Sign up with a license code; the license is consumed exactly once.
#[utoipa::path(
    post, path = "/api/integration/sign_up_with_license_code", tag = "integration",
    request_body = LicenseSignUpRequest,
    security(("api_key" = [], "api_secret" = [])),
    responses(
        (status = 200, description = "The new user, with an active membership", body = UserResponse),
        (status = 401, description = "Missing or wrong application credentials", body = ErrorBody),
        (status = 403, description = "The client IP, hardware id or license is banned", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Validation failed, invalid JSON, or an unknown or used code", body = ErrorBody),
        (status = 429, description = "Too many requests, sign-ups or failed codes from this address; see Retry-After", body = ErrorBody),
    )
)]
pub async fn sign_up_with_license_code(
    app: IntegrationApp,
    origin: Origin,
    service: web::Data<dyn IntegrationApi>,
    limiter: web::Data<dyn RateLimiter>,
    body: JsonBody<LicenseSignUpRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let ip = origin.0.client_ip;
    let request = body.0.try_into_domain(origin.0)?;
    throttle::before_attempt(limiter.as_ref(), app.0.id, ip, None).await?;
    throttle::sign_up(limiter.as_ref(), app.0.id, ip).await?;
    let result = service.sign_up_with_license_code(&app.0, request).await;
    let user = match result {
        Ok(user) => {
            outcomes::signed_up("license_code");
            outcomes::redeemed("sign_up");
            user
        }
        Err(error) => {
            let error = match error {
                LicenseSignUpError::HardwareIdRequired => hardware_id_required(),
                LicenseSignUpError::Banned(kind) => {
                    outcomes::ban_hit(kind);
                    ApiError::Banned
                }
                LicenseSignUpError::InvalidCode => ApiError::InvalidLicenseCode,
                LicenseSignUpError::Unknown(error) => ApiError::from(error),
            };
            return Err(throttle::after_failure(limiter.as_ref(), app.0.id, ip, None, error).await);
        }
    };
    Ok(web::Json(user.into()))
}
