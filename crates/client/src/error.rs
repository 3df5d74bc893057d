//! What a call can fail with: one variant per `code` of the contract a program branches on,
//! a catch-all for the others, and the client's own failures (transport, signature).

use crate::signing::SignatureError;
use std::time::Duration;

/// A failed call.
///
/// Refusals from the server carry its `detail` (a human message; branch on the variant, not
/// on the text). With a pinned response-signing key, an answer that does not verify is
/// always [`Error::Signature`], whatever it says: a refusal is only reported as such once
/// its signature holds.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `403 banned`: the client IP, the hardware id, the license or the user is banned.
    #[error("banned: {detail}")]
    Banned {
        /// The server's message.
        detail: String,
    },
    /// `401 invalid_credentials`: unknown user, wrong password, or a code no user has used.
    #[error("invalid credentials: {detail}")]
    InvalidCredentials {
        /// The server's message.
        detail: String,
    },
    /// `422 username_taken`.
    #[error("username taken: {detail}")]
    UsernameTaken {
        /// The server's message.
        detail: String,
    },
    /// `invalid_license_code`: `422` from license sign-up, `401` from activation. The code
    /// is unknown, already used, or another application's.
    #[error("invalid license code: {detail}")]
    InvalidLicenseCode {
        /// 401 or 422.
        status: u16,
        /// The server's message.
        detail: String,
    },
    /// `403 membership_inactive`: the user's membership was never activated or has expired.
    #[error("membership inactive: {detail}")]
    MembershipInactive {
        /// The server's message.
        detail: String,
    },
    /// `401 maximum_number_of_devices_reached`.
    #[error("device limit reached: {detail}")]
    DeviceLimitReached {
        /// The server's message.
        detail: String,
    },
    /// `401 maximum_number_of_simultaneous_sessions_reached`.
    #[error("session limit reached: {detail}")]
    SessionLimitReached {
        /// The server's message.
        detail: String,
    },
    /// `401 device_authentication_required`: configure a hardware id
    /// ([`crate::ClientBuilder::hardware_id`]).
    #[error("device authentication required: {detail}")]
    DeviceAuthenticationRequired {
        /// The server's message.
        detail: String,
    },
    /// `401 invalid_application_credentials`: wrong `api_key` or `api_secret`. (Such an
    /// answer is never signed, so with a pinned key it is reported as [`Error::Signature`].)
    #[error("invalid application credentials: {detail}")]
    InvalidApplicationCredentials {
        /// The server's message.
        detail: String,
    },
    /// `401 invalid_session`, after the client has already signed in again once with the
    /// stored credentials (or has none stored).
    #[error("invalid session: {detail}")]
    InvalidSession {
        /// The server's message.
        detail: String,
    },
    /// `422 validation_failed`: a field is missing or breaks the input rules.
    #[error("validation failed: {detail}")]
    ValidationFailed {
        /// The field at fault, when the server names one.
        field: Option<String>,
        /// The server's message.
        detail: String,
    },
    /// `429 rate_limited`.
    #[error("rate limited: {detail}")]
    RateLimited {
        /// `Retry-After`, when the answer had one.
        retry_after: Option<Duration>,
        /// The server's message.
        detail: String,
    },
    /// `503 service_unavailable`.
    #[error("service unavailable: {detail}")]
    ServiceUnavailable {
        /// `Retry-After`, when the answer had one.
        retry_after: Option<Duration>,
        /// The server's message.
        detail: String,
    },
    /// Any other refusal in the contract's format.
    #[error("{status} {code}: {detail}")]
    Api {
        /// The status code.
        status: u16,
        /// The stable `code`.
        code: String,
        /// The server's message.
        detail: String,
        /// The field at fault, when the server names one.
        field: Option<String>,
    },
    /// A call that needs a session (`app_context`, the user variables) before any
    /// [`crate::Client::login`].
    #[error("not signed in: call login first")]
    NotSignedIn,
    /// The answer's signature does not verify against the pinned key (or it is missing). The
    /// answer is not used, whatever it says.
    #[error("the answer's signature does not verify: {0}")]
    Signature(#[from] SignatureError),
    /// An answer that is not in the contract's format (for example from something in front
    /// of the server).
    #[error("unexpected answer {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body, lossily decoded.
        body: String,
    },
    /// The request could not be sent or its answer not read (connection, TLS, timeout).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The client was built with a value it cannot use (a base URL or key that does not
    /// parse).
    #[error("invalid configuration: {0}")]
    Configuration(String),
}

impl Error {
    /// The answer's status code, for refusals from the server.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Self::Banned { .. } | Self::MembershipInactive { .. } => 403,
            Self::InvalidCredentials { .. }
            | Self::DeviceLimitReached { .. }
            | Self::SessionLimitReached { .. }
            | Self::DeviceAuthenticationRequired { .. }
            | Self::InvalidApplicationCredentials { .. }
            | Self::InvalidSession { .. } => 401,
            Self::UsernameTaken { .. } | Self::ValidationFailed { .. } => 422,
            Self::InvalidLicenseCode { status, .. }
            | Self::Api { status, .. }
            | Self::Http { status, .. } => *status,
            Self::RateLimited { .. } => 429,
            Self::ServiceUnavailable { .. } => 503,
            Self::NotSignedIn
            | Self::Signature(_)
            | Self::Transport(_)
            | Self::Configuration(_) => {
                return None;
            }
        })
    }

    /// The answer's `code`, for refusals from the server.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        Some(match self {
            Self::Banned { .. } => "banned",
            Self::InvalidCredentials { .. } => "invalid_credentials",
            Self::UsernameTaken { .. } => "username_taken",
            Self::InvalidLicenseCode { .. } => "invalid_license_code",
            Self::MembershipInactive { .. } => "membership_inactive",
            Self::DeviceLimitReached { .. } => "maximum_number_of_devices_reached",
            Self::SessionLimitReached { .. } => "maximum_number_of_simultaneous_sessions_reached",
            Self::DeviceAuthenticationRequired { .. } => "device_authentication_required",
            Self::InvalidApplicationCredentials { .. } => "invalid_application_credentials",
            Self::InvalidSession { .. } => "invalid_session",
            Self::ValidationFailed { .. } => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::ServiceUnavailable { .. } => "service_unavailable",
            Self::Api { code, .. } => code,
            _ => return None,
        })
    }

    /// The server's `detail`, for refusals from the server.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Banned { detail }
            | Self::InvalidCredentials { detail }
            | Self::UsernameTaken { detail }
            | Self::InvalidLicenseCode { detail, .. }
            | Self::MembershipInactive { detail }
            | Self::DeviceLimitReached { detail }
            | Self::SessionLimitReached { detail }
            | Self::DeviceAuthenticationRequired { detail }
            | Self::InvalidApplicationCredentials { detail }
            | Self::InvalidSession { detail }
            | Self::ValidationFailed { detail, .. }
            | Self::RateLimited { detail, .. }
            | Self::ServiceUnavailable { detail, .. }
            | Self::Api { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The error for a refusal in the contract's format.
    pub(crate) fn from_refusal(
        status: u16,
        code: String,
        detail: String,
        field: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        match code.as_str() {
            "banned" => Self::Banned { detail },
            "invalid_credentials" => Self::InvalidCredentials { detail },
            "username_taken" => Self::UsernameTaken { detail },
            "invalid_license_code" => Self::InvalidLicenseCode { status, detail },
            "membership_inactive" => Self::MembershipInactive { detail },
            "maximum_number_of_devices_reached" => Self::DeviceLimitReached { detail },
            "maximum_number_of_simultaneous_sessions_reached" => {
                Self::SessionLimitReached { detail }
            }
            "device_authentication_required" => Self::DeviceAuthenticationRequired { detail },
            "invalid_application_credentials" => Self::InvalidApplicationCredentials { detail },
            "invalid_session" => Self::InvalidSession { detail },
            "validation_failed" => Self::ValidationFailed { field, detail },
            "rate_limited" => Self::RateLimited {
                retry_after,
                detail,
            },
            "service_unavailable" => Self::ServiceUnavailable {
                retry_after,
                detail,
            },
            _ => Self::Api {
                status,
                code,
                detail,
                field,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_maps_to_its_variant_and_back() {
        for (status, code) in [
            (403, "banned"),
            (401, "invalid_credentials"),
            (422, "username_taken"),
            (422, "invalid_license_code"),
            (401, "invalid_license_code"),
            (403, "membership_inactive"),
            (401, "maximum_number_of_devices_reached"),
            (401, "maximum_number_of_simultaneous_sessions_reached"),
            (401, "device_authentication_required"),
            (401, "invalid_application_credentials"),
            (401, "invalid_session"),
            (422, "validation_failed"),
            (429, "rate_limited"),
            (503, "service_unavailable"),
            (409, "too_many_variables"),
        ] {
            let error = Error::from_refusal(status, code.into(), "d".into(), None, None);
            assert_eq!(error.status(), Some(status), "{code}");
            assert_eq!(error.code(), Some(code));
            assert_eq!(error.detail(), Some("d"));
        }
        assert!(matches!(
            Error::from_refusal(409, "too_many_variables".into(), "d".into(), None, None),
            Error::Api { .. }
        ));
    }
}
