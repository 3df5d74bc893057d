//! Who calls `app_context` and the user variables: a session (`Authorization: Bearer`), or,
//! when the application allows legacy auth, the user's own credentials on every call, as
//! Authgate's legacy clients send them (`x-api-username` and `x-api-password`, or
//! `x-api-license-code`, with `x-hardware-id`); else nobody in particular. Credentials go
//! through every rule of a sign-in, and count against the failed-attempt limit like one.

use crate::auth::bearer;
use crate::error::ApiError;
use crate::routes::sign_in::login_error;
use crate::throttle;
use actix_web::HttpRequest;
use domain::application::Application;
use domain::errors::AppContextError;
use domain::event::RequestContext;
use domain::ports::RateLimiter;
use domain::services::{Caller, Credentials, Login};
use domain::values::{ClientIp, HardwareId, LicenseCode, Password, Username};
use std::future::Future;

/// The caller of this request.
///
/// # Errors
/// `422` naming the header at fault, for credentials that break the input rules.
pub(crate) fn caller(
    req: &HttpRequest,
    app: &Application,
    ip: ClientIp,
) -> Result<Caller, ApiError> {
    if let Some(token) = bearer(req) {
        return Ok(Caller::Session(token.to_owned()));
    }
    if !app.settings.legacy_auth {
        return Ok(Caller::Anonymous);
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let credentials = match (
        header("x-api-username"),
        header("x-api-password"),
        header("x-api-license-code"),
    ) {
        (None, None, None) => return Ok(Caller::Anonymous),
        (Some(username), Some(password), None) => Credentials::Password {
            username: Username::parse(username)
                .map_err(|e| ApiError::field("x-api-username", e))?,
            password: Password::parse(password)
                .map_err(|e| ApiError::field("x-api-password", e))?,
        },
        (None, None, Some(code)) => Credentials::LicenseCode(
            LicenseCode::parse(code).map_err(|e| ApiError::field("x-api-license-code", e))?,
        ),
        _ => {
            return Err(ApiError::field(
                "x-api-username",
                "give x-api-username and x-api-password, or x-api-license-code",
            ));
        }
    };
    let hardware_id = header("x-hardware-id")
        .map(|raw| HardwareId::parse(raw).map_err(|e| ApiError::field("x-hardware-id", e)))
        .transpose()?;
    Ok(Caller::Credentials(Login {
        credentials,
        hardware_id,
        origin: RequestContext {
            client_ip: ip,
            ..crate::origin::origin(req)
        },
    }))
}

/// Runs `call` for `caller`; credentials are checked against the failed-attempt limit first,
/// and a wrong one counts against it, as at sign-in.
pub(crate) async fn answer<T, F, Fut>(
    limiter: &dyn RateLimiter,
    app: &Application,
    ip: ClientIp,
    caller: Caller,
    call: F,
) -> Result<T, ApiError>
where
    F: FnOnce(Caller) -> Fut,
    Fut: Future<Output = Result<T, AppContextError>>,
{
    let attempt = matches!(caller, Caller::Credentials(_));
    let account = match &caller {
        Caller::Credentials(login) => throttle::password_account(&login.credentials),
        _ => None,
    };
    if attempt {
        throttle::before_attempt(limiter, app.id, ip, account.as_deref()).await?;
    }
    match call(caller).await {
        Ok(answer) => Ok(answer),
        Err(error) if attempt => Err(throttle::after_failure(
            limiter,
            app.id,
            ip,
            account.as_deref(),
            context_error(error),
        )
        .await),
        Err(error) => Err(context_error(error)),
    }
}

/// The refusals of calls made by a session or credentials.
pub(crate) fn context_error(error: AppContextError) -> ApiError {
    match error {
        AppContextError::InvalidSession => ApiError::InvalidSession,
        AppContextError::TooManyVariables => ApiError::TooManyVariables,
        AppContextError::Banned(kind) => {
            crate::outcomes::ban_hit(kind);
            ApiError::Banned
        }
        AppContextError::SignIn(error) => login_error(error),
        AppContextError::Unknown(error) => ApiError::from(error),
    }
}
