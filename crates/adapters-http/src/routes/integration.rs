//! `/api/integration`: what a vendor's shipped program calls.

use crate::auth::IntegrationApp;
use crate::client_ip::ClientAddress;
use crate::dto::{LicenseSignUpRequest, SignUpRequest, UserResponse};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use actix_web::web;
use domain::errors::{LicenseSignUpError, SignUpError};
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
        (status = 503, description = "Overloaded: too many sign-ups waiting to be hashed; see Retry-After", body = ErrorBody),
    )
)]
pub async fn sign_up(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn IntegrationApi>,
    body: JsonBody<SignUpRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let request = body.0.try_into_domain(ip.0)?;
    let user = service
        .sign_up(&app.0, request)
        .await
        .map_err(|error| match error {
            SignUpError::HardwareIdRequired => hardware_id_required(),
            SignUpError::Banned(_) => ApiError::Banned,
            SignUpError::UsernameTaken => ApiError::UsernameTaken,
            SignUpError::Busy => ApiError::Unavailable,
            SignUpError::Unknown(error) => ApiError::from(error),
        })?;
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
    )
)]
pub async fn sign_up_with_license_code(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn IntegrationApi>,
    body: JsonBody<LicenseSignUpRequest>,
) -> Result<web::Json<UserResponse>, ApiError> {
    let request = body.0.try_into_domain(ip.0)?;
    let user = service
        .sign_up_with_license_code(&app.0, request)
        .await
        .map_err(|error| match error {
            LicenseSignUpError::HardwareIdRequired => hardware_id_required(),
            LicenseSignUpError::Banned(_) => ApiError::Banned,
            LicenseSignUpError::InvalidCode => ApiError::InvalidLicenseCode,
            LicenseSignUpError::Unknown(error) => ApiError::from(error),
        })?;
    Ok(web::Json(user.into()))
}
