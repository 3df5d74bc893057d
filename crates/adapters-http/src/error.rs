//! `ApiError`: every failure a client can see, in the contract's `{"detail","code","field"?}`
//! form. Public messages are written here by hand; a 5xx logs its cause and says nothing.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::errors::StoreUnavailable;
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A human-readable message.
    pub detail: String,
    /// A stable, snake_case code to branch on.
    pub code: &'static str,
    /// The request field at fault, for validation errors about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    /// 401: missing, unknown or wrong `x-api-key` / `x-api-secret`.
    InvalidApplicationCredentials,
    /// 401: missing or wrong admin key.
    InvalidAdminKey,
    /// 401: missing or wrong operator token.
    InvalidOperatorToken,
    /// 401: unknown user, wrong password, or a code that signed nobody up.
    InvalidCredentials,
    /// 401: the application requires a hardware id at sign-in.
    DeviceAuthenticationRequired,
    /// 401: the user has no device slot left for a new hardware id.
    MaxDevicesReached,
    /// 401: the user holds as many live sessions as allowed.
    MaxSessionsReached,
    /// 401: unknown, used, or another application's code, at license activation.
    ActivationCodeInvalid,
    /// 401: missing, unknown, expired or revoked session token.
    InvalidSession,
    /// 401: the application requires signed requests, and this one is not signed.
    MissingSignature,
    /// 401: the request signature is malformed, or does not verify with the key it names.
    InvalidSignature,
    /// 401: the request signature was made outside the allowed clock skew.
    StaleSignature,
    /// 401: a signed request with this nonce was accepted before.
    ReplayedRequest,
    /// 409: the user has as many variables as the application allows.
    TooManyVariables,
    /// 403: the client IP, device, license or user is banned.
    Banned,
    /// 403: the user's membership is not active.
    MembershipInactive,
    /// 404: no such route or resource.
    NotFound(&'static str),
    /// 405: the route exists, the method does not; `allow` lists the methods it has.
    MethodNotAllowed { allow: String },
    /// 409: a license with one of the codes exists.
    LicenseCodeExists,
    /// 409: minutes cannot be added to or removed from a lifetime membership.
    MembershipIsLifetime,
    /// 409: the delivery is being sent now; redeliver once its attempt is recorded.
    DeliveryInFlight,
    /// 409: the application has a file of that name.
    FileNameTaken,
    /// 404: no such file in the application.
    FileNotFound,
    /// 413: the body is over 64 KiB.
    PayloadTooLarge,
    /// 413: the uploaded file is over the configured limit.
    FileTooLarge { max_bytes: u64 },
    /// 416: the requested range starts past the end of the file.
    RangeNotSatisfiable { size: u64 },
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: the body is not parseable JSON.
    InvalidJson,
    /// 422: a field is missing or malformed.
    Validation {
        field: Option<String>,
        detail: String,
    },
    /// 422: the username is taken in this application.
    UsernameTaken,
    /// 422: unknown, used, or another application's license code (one body for all three).
    InvalidLicenseCode,
    /// 429: over a rate limit; retry after this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// 503: a dependency is down.
    Unavailable,
    /// 500: a bug or an unexpected failure; logged, never shown.
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, detail: impl fmt::Display) -> Self {
        Self::Validation {
            field: Some(field.to_owned()),
            detail: format!("{field}: {detail}"),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::InvalidApplicationCredentials => "invalid_application_credentials",
            Self::InvalidAdminKey => "invalid_admin_key",
            Self::InvalidOperatorToken => "invalid_operator_token",
            Self::InvalidCredentials => "invalid_credentials",
            Self::DeviceAuthenticationRequired => "device_authentication_required",
            Self::MaxDevicesReached => "maximum_number_of_devices_reached",
            Self::MaxSessionsReached => "maximum_number_of_simultaneous_sessions_reached",
            Self::ActivationCodeInvalid => "invalid_license_code",
            Self::InvalidSession => "invalid_session",
            Self::MissingSignature => "missing_signature",
            Self::InvalidSignature => "invalid_signature",
            Self::StaleSignature => "stale_signature",
            Self::ReplayedRequest => "replayed_request",
            Self::TooManyVariables => "too_many_variables",
            Self::Banned => "banned",
            Self::MembershipInactive => "membership_inactive",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::LicenseCodeExists => "license_code_exists",
            Self::MembershipIsLifetime => "membership_is_lifetime",
            Self::DeliveryInFlight => "delivery_in_flight",
            Self::FileNameTaken => "file_name_taken",
            Self::FileNotFound => "file_not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::FileTooLarge { .. } => "file_too_large",
            Self::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidJson => "invalid_json",
            Self::Validation { .. } => "validation_failed",
            Self::UsernameTaken => "username_taken",
            Self::InvalidLicenseCode => "invalid_license_code",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::InvalidApplicationCredentials => "invalid application credentials".into(),
            Self::InvalidAdminKey => "invalid admin API key".into(),
            Self::InvalidOperatorToken => "invalid operator token".into(),
            Self::InvalidCredentials => "invalid credentials".into(),
            Self::DeviceAuthenticationRequired => "device authentication is required".into(),
            Self::MaxDevicesReached => "maximum number of devices reached".into(),
            Self::MaxSessionsReached => "maximum number of simultaneous sessions reached".into(),
            Self::ActivationCodeInvalid => "invalid license code".into(),
            Self::InvalidSession => "invalid or expired session".into(),
            Self::MissingSignature => "this application requires signed requests".into(),
            Self::InvalidSignature => "the request signature is not valid".into(),
            Self::StaleSignature => {
                "the request signature was made too long ago; check the clock".into()
            }
            Self::ReplayedRequest => "this request was sent before".into(),
            Self::TooManyVariables => {
                "the user has as many variables as the application allows; delete one first".into()
            }
            Self::Banned => "banned".into(),
            Self::MembershipInactive => "the membership is not active".into(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::MethodNotAllowed { .. } => "method not allowed".into(),
            Self::LicenseCodeExists => "a license with one of these codes exists".into(),
            Self::MembershipIsLifetime => {
                "the membership is lifetime; revoke lifetime access first".into()
            }
            Self::DeliveryInFlight => {
                "the delivery is being sent now; redeliver it once its attempt shows".into()
            }
            Self::FileNameTaken => {
                "a file of that name exists; PUT /api/admin/files/by-name/{name} replaces it".into()
            }
            Self::FileNotFound => "file not found".into(),
            Self::PayloadTooLarge => "the request body is larger than 64 KiB".into(),
            Self::FileTooLarge { max_bytes } => {
                format!("the file is larger than the limit of {max_bytes} bytes")
            }
            Self::RangeNotSatisfiable { size } => {
                format!("the range is outside the file's {size} bytes")
            }
            Self::UnsupportedMediaType => "the request body must be JSON".into(),
            Self::InvalidJson => "the request body is not valid JSON".into(),
            Self::Validation { detail, .. } => detail.clone(),
            Self::UsernameTaken => "the username is taken".into(),
            Self::InvalidLicenseCode => "invalid license code".into(),
            Self::RateLimited { retry_after_secs } => {
                format!("too many requests; retry after {retry_after_secs} s")
            }
            Self::Unavailable => "the service is temporarily unavailable".into(),
            Self::Internal(_) => "internal server error".into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidApplicationCredentials
            | Self::InvalidAdminKey
            | Self::InvalidOperatorToken
            | Self::InvalidCredentials
            | Self::DeviceAuthenticationRequired
            | Self::MaxDevicesReached
            | Self::MaxSessionsReached
            | Self::ActivationCodeInvalid
            | Self::InvalidSession
            | Self::MissingSignature
            | Self::InvalidSignature
            | Self::StaleSignature
            | Self::ReplayedRequest => StatusCode::UNAUTHORIZED,
            Self::Banned | Self::MembershipInactive => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::FileNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::LicenseCodeExists
            | Self::MembershipIsLifetime
            | Self::TooManyVariables
            | Self::DeliveryInFlight
            | Self::FileNameTaken => StatusCode::CONFLICT,
            Self::PayloadTooLarge | Self::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidJson
            | Self::Validation { .. }
            | Self::UsernameTaken
            | Self::InvalidLicenseCode => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(error) = self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let field = match self {
            Self::Validation { field, .. } => field.clone(),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unavailable => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            Self::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::RangeNotSatisfiable { size } => {
                response.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            _ => {}
        }
        response.json(ErrorBody {
            detail: self.detail(),
            code: self.code(),
            field,
        })
    }
}

impl From<domain::ports::Limited> for ApiError {
    /// Rounded up, so a client that waits exactly this long is not refused again.
    fn from(limited: domain::ports::Limited) -> Self {
        let millis = limited.retry_after.as_millis();
        let retry_after_secs = u64::try_from(millis.div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(1);
        Self::RateLimited { retry_after_secs }
    }
}

impl From<anyhow::Error> for ApiError {
    /// 503 when storage is unreachable (the client may retry), else 500.
    fn from(error: anyhow::Error) -> Self {
        if StoreUnavailable::is_cause_of(&error) {
            tracing::warn!(error = format!("{error:#}"), "storage unavailable");
            Self::Unavailable
        } else {
            Self::Internal(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.error_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_error_has_its_status_and_the_contract_body() {
        let cases = [
            (
                ApiError::InvalidApplicationCredentials,
                401,
                "invalid_application_credentials",
            ),
            (ApiError::InvalidAdminKey, 401, "invalid_admin_key"),
            (
                ApiError::InvalidOperatorToken,
                401,
                "invalid_operator_token",
            ),
            (ApiError::Banned, 403, "banned"),
            (ApiError::NotFound("license"), 404, "not_found"),
            (
                ApiError::MethodNotAllowed {
                    allow: "GET".into(),
                },
                405,
                "method_not_allowed",
            ),
            (ApiError::LicenseCodeExists, 409, "license_code_exists"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::FileTooLarge { max_bytes: 9 },
                413,
                "file_too_large",
            ),
            (ApiError::FileNameTaken, 409, "file_name_taken"),
            (ApiError::FileNotFound, 404, "file_not_found"),
            (
                ApiError::RangeNotSatisfiable { size: 9 },
                416,
                "range_not_satisfiable",
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (ApiError::InvalidJson, 422, "invalid_json"),
            (ApiError::UsernameTaken, 422, "username_taken"),
            (ApiError::InvalidLicenseCode, 422, "invalid_license_code"),
            (
                ApiError::RateLimited {
                    retry_after_secs: 3,
                },
                429,
                "rate_limited",
            ),
            (ApiError::Unavailable, 503, "service_unavailable"),
        ];
        for (error, status, code) in cases {
            let (actual, body) = body(error).await;
            assert_eq!(actual.as_u16(), status, "{code}");
            assert_eq!(body["code"], code);
            assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
            assert!(body.get("field").is_none());
        }
    }

    #[tokio::test]
    async fn a_validation_error_names_its_field() {
        let (status, body) = body(ApiError::field("username", "must be 3 to 32 characters")).await;
        assert_eq!(status.as_u16(), 422);
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["field"], "username");
    }

    #[tokio::test]
    async fn an_internal_error_hides_its_cause() {
        let (status, body) =
            body(ApiError::Internal(anyhow::anyhow!("SELECT secret FROM db"))).await;
        assert_eq!(status.as_u16(), 500);
        assert_eq!(body["detail"], "internal server error");
        assert!(!body.to_string().contains("SELECT"));
    }

    #[tokio::test]
    async fn an_unreachable_store_is_503_and_any_other_failure_500() {
        let unavailable = anyhow::Error::new(std::io::Error::other("refused"))
            .context(StoreUnavailable)
            .context("finding a user");
        assert_eq!(body(ApiError::from(unavailable)).await.0.as_u16(), 503);
        assert_eq!(
            body(ApiError::from(anyhow::anyhow!("bug")))
                .await
                .0
                .as_u16(),
            500
        );
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let response = ApiError::Unavailable.error_response();
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
