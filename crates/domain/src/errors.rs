//! One error enum per operation. `Unknown` carries infrastructure failures.

use crate::ban::BanKind;
use thiserror::Error;

/// Marks a failure as "storage is unreachable right now" (connection refused, pool exhausted,
/// statement timed out): the request may succeed if retried, so the API answers 503.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("storage is unavailable")]
pub struct StoreUnavailable;

impl StoreUnavailable {
    /// Whether `error`, or anything it wraps, is marked unavailable.
    #[must_use]
    pub fn is_cause_of(error: &anyhow::Error) -> bool {
        error.downcast_ref::<Self>().is_some()
    }
}

/// What a transaction can lose to a concurrent writer. It is found in the error chain of
/// [`Transaction::commit`](crate::ports::Transaction::commit), and nothing of that transaction
/// was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CommitConflict {
    #[error("the canonical username is taken")]
    UsernameTaken,
    #[error("the license was used, by this claim's rival or before")]
    LicenseClaimed,
}

impl CommitConflict {
    /// The conflict that made `error`, if a conflict did.
    #[must_use]
    pub fn of(error: &anyhow::Error) -> Option<Self> {
        error.downcast_ref::<Self>().copied()
    }
}

/// Storing licenses.
#[derive(Debug, Error)]
pub enum StoreLicensesError {
    #[error("a license with this code exists")]
    DuplicateCode,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Checking an application's credentials.
#[derive(Debug, Error)]
pub enum AuthenticateError {
    #[error("invalid application credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Hashing a password.
#[derive(Debug, Error)]
pub enum HashError {
    /// Every hashing slot stayed taken for longer than the configured wait: shed load.
    #[error("too many passwords are being hashed; try again shortly")]
    Busy,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Signing up with a username and password.
#[derive(Debug, Error)]
pub enum SignUpError {
    #[error("a hardware id is required by this application")]
    HardwareIdRequired,
    #[error("banned ({})", .0.as_str())]
    Banned(BanKind),
    #[error("the username is taken")]
    UsernameTaken,
    #[error("overloaded; try again shortly")]
    Busy,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<HashError> for SignUpError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Unknown(error) => Self::Unknown(error),
        }
    }
}

/// Signing up with a license code.
#[derive(Debug, Error)]
pub enum LicenseSignUpError {
    #[error("a hardware id is required by this application")]
    HardwareIdRequired,
    #[error("banned ({})", .0.as_str())]
    Banned(BanKind),
    /// Unknown, used, or another application's: deliberately one variant.
    #[error("invalid license code")]
    InvalidCode,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Signing in.
#[derive(Debug, Error)]
pub enum LoginError {
    /// Unknown user, wrong password, or a code that signed nobody up: one variant.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("device authentication is required")]
    DeviceAuthenticationRequired,
    #[error("maximum number of devices reached")]
    MaxDevicesReached,
    #[error("maximum number of simultaneous sessions reached")]
    MaxSessionsReached,
    #[error("banned ({})", .0.as_str())]
    Banned(BanKind),
    #[error("the membership is not active")]
    MembershipInactive,
    #[error("overloaded; try again shortly")]
    Busy,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<HashError> for LoginError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Unknown(error) => Self::Unknown(error),
        }
    }
}

/// Activating a license for an existing user.
#[derive(Debug, Error)]
pub enum ActivateLicenseError {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Unknown, used, or another application's code.
    #[error("invalid license code")]
    InvalidCode,
    #[error("banned ({})", .0.as_str())]
    Banned(BanKind),
    #[error("overloaded; try again shortly")]
    Busy,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<HashError> for ActivateLicenseError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Unknown(error) => Self::Unknown(error),
        }
    }
}

/// Reading the signed-in user's application context.
#[derive(Debug, Error)]
pub enum AppContextError {
    /// Unknown, expired or revoked session token.
    #[error("invalid or expired session")]
    InvalidSession,
    #[error("banned ({})", .0.as_str())]
    Banned(BanKind),
    /// Setting a user variable: the user has as many as the application allows.
    #[error("the user has as many variables as the application allows")]
    TooManyVariables,
    /// Credentials given instead of a session (legacy auth) failed a sign-in rule.
    #[error(transparent)]
    SignIn(LoginError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Storing a file's metadata.
#[derive(Debug, Error)]
pub enum CreateFileError {
    #[error("the application has a file of that name")]
    NameTaken,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Uploading a file through the admin API. Nothing is kept of a refused upload.
#[derive(Debug, Error)]
pub enum UploadError {
    #[error("the application has a file of that name")]
    NameTaken,
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: u64 },
    /// The upload's body failed: the client went away, or sent a malformed body.
    #[error("the upload was interrupted: {0}")]
    Interrupted(anyhow::Error),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Why a file is not served, once the caller is known.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DownloadRefusal {
    /// No such file in the caller's application (another application's file included).
    #[error("no such file")]
    NotFound,
    /// A private file, for a user whose membership is not active.
    #[error("the membership is not active")]
    MembershipInactive,
    /// A range that starts past the end of the file.
    #[error("the range is outside the file's {size} bytes")]
    RangeNotSatisfiable { size: u64 },
}

/// Managing one user through the admin API.
#[derive(Debug, Error)]
pub enum UserAdminError {
    #[error("no such user in the application")]
    UnknownUser,
    /// Time cannot be added to or removed from a lifetime membership.
    #[error("the membership is lifetime")]
    LifetimeMembership,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("overloaded; try again shortly")]
    Busy,
    #[error("the user has as many variables as the application allows")]
    TooManyVariables,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<SetUserVariableError> for UserAdminError {
    fn from(error: SetUserVariableError) -> Self {
        match error {
            SetUserVariableError::UnknownUser => Self::UnknownUser,
            SetUserVariableError::TooMany => Self::TooManyVariables,
            SetUserVariableError::Unknown(error) => Self::Unknown(error),
        }
    }
}

impl From<HashError> for UserAdminError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            HashError::Unknown(error) => Self::Unknown(error),
        }
    }
}

/// Creating licenses through the admin API.
#[derive(Debug, Error)]
pub enum CreateLicensesError {
    #[error("a license with one of these codes exists")]
    DuplicateCode,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Creating a ban through the admin API.
#[derive(Debug, Error)]
pub enum CreateBanError {
    #[error("no license with this code exists in the application")]
    UnknownLicense,
    #[error("no user with this username exists in the application")]
    UnknownUser,
    #[error("must be in the future")]
    ExpiryNotInFuture,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Setting a user's variable.
#[derive(Debug, Error)]
pub enum SetUserVariableError {
    #[error("no such user")]
    UnknownUser,
    #[error("the user has as many variables as the application allows")]
    TooMany,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Why a webhook call of the admin API failed.
#[derive(Debug, Error)]
pub enum WebhookError {
    #[error("no such webhook endpoint")]
    UnknownEndpoint,
    #[error("no such delivery")]
    UnknownDelivery,
    /// Being sent now, under a claim's lease.
    #[error("the delivery is being sent")]
    DeliveryInFlight,
    /// The URL resolves to an address webhooks may not reach; why.
    #[error("{0}")]
    TargetRefused(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}
