//! Applying the rate limits in handlers: sign-ups are counted before the work; failed
//! credential or code attempts are counted after a failure and checked before each attempt,
//! per client network and, for a password, per account too (a guesser with many addresses).

use crate::error::ApiError;
use domain::ports::{RateLimit, RateLimiter};
use domain::services::Credentials;
use domain::values::{ApplicationId, ClientIp};

/// Counts a sign-up; refuses it over the hourly limit.
pub(crate) async fn sign_up(
    limiter: &dyn RateLimiter,
    app: ApplicationId,
    ip: ClientIp,
) -> Result<(), ApiError> {
    Ok(limiter.count(RateLimit::SignUps, app, ip).await?)
}

/// Refuses a client that has already failed too often, before any work.
pub(crate) async fn before_attempt(
    limiter: &dyn RateLimiter,
    app: ApplicationId,
    ip: ClientIp,
    account: Option<&str>,
) -> Result<(), ApiError> {
    limiter.check(RateLimit::FailedAttempts, app, ip).await?;
    if let Some(account) = account {
        limiter.check_account(app, account, ip).await?;
    }
    Ok(())
}

/// Records a failed attempt when `error` is one (wrong credentials or code), then passes
/// the error on.
pub(crate) async fn after_failure(
    limiter: &dyn RateLimiter,
    app: ApplicationId,
    ip: ClientIp,
    account: Option<&str>,
    error: ApiError,
) -> ApiError {
    let failed_attempt = matches!(
        error,
        ApiError::InvalidCredentials
            | ApiError::InvalidLicenseCode
            | ApiError::ActivationCodeInvalid
    );
    if failed_attempt {
        // Over the limit or not, this answer stands; the next attempt is refused.
        let _ = limiter.count(RateLimit::FailedAttempts, app, ip).await;
    }
    if let Some(account) = account
        && matches!(error, ApiError::InvalidCredentials)
    {
        limiter.count_account_failure(app, account).await;
    }
    error
}

/// The account a password guess is counted against: its canonical username (a code is its
/// own secret, and the address limit covers it).
pub(crate) fn password_account(credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::Password { username, .. } => Some(username.canonical().to_owned()),
        Credentials::LicenseCode(_) => None,
    }
}
