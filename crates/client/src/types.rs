//! What the calls return: the client's own copies of the integration API's bodies (they
//! depend on no server crate), and the credentials a user signs in with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A user's membership.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Membership {
    /// Whether the user may use the program now.
    pub is_active: bool,
    /// Whether the membership never ends.
    #[serde(default)]
    pub is_lifetime: bool,
    /// When a time-limited membership ends.
    #[serde(default)]
    pub active_until: Option<DateTime<Utc>>,
}

/// A user, as sign-up returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user's id.
    pub id: Uuid,
    /// The username (generated for a license sign-up).
    pub username: String,
    /// The user's membership.
    pub membership: Membership,
}

/// A session from [`crate::Client::login`]. The client keeps the token; it is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// When the session ends unless renewed (the client signs in again by itself).
    pub expires_at: DateTime<Utc>,
}

/// The membership change a license activation made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Activation {
    /// The ledger row's id.
    pub id: Uuid,
    /// `license`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Minutes added.
    pub minutes: i64,
    /// Whether it granted lifetime access.
    pub grants_lifetime_access: bool,
    /// The license used.
    pub license_id: Option<Uuid>,
}

/// An application variable shown to signed-in users.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Whether anonymous callers see it too.
    #[serde(default)]
    pub is_public: bool,
}

/// A file the caller may download.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct File {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its media type.
    pub mime_type: String,
    /// Its size.
    pub size_bytes: u64,
    /// Lowercase hex SHA-256 of the bytes a download returns.
    pub sha256: String,
}

/// The application, as `app_context` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Application {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its variables.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// The files the user may download.
    #[serde(default)]
    pub files: Vec<File>,
}

/// What `app_context` answers: the application, the signed-in user and the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AppContext {
    /// The application.
    pub application: Application,
    /// The signed-in user.
    pub user: Option<User>,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

impl AppContext {
    /// The application variable named `name`.
    #[must_use]
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.application
            .variables
            .iter()
            .find(|variable| variable.name == name)
            .map(|variable| variable.value.as_str())
    }
}

/// One of the signed-in user's own variables.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UserVariable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

#[derive(Deserialize)]
pub(crate) struct UserVariables {
    pub variables: Vec<UserVariable>,
}

#[derive(Deserialize)]
pub(crate) struct LoginAnswer {
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
pub(crate) struct Refusal {
    pub detail: String,
    pub code: String,
    pub field: Option<String>,
}

/// What a user signs in with. `Debug` never shows the password or the code.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Credentials {
    /// A username and password.
    Password {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
    /// The license code the user signed up with.
    LicenseCode {
        /// The code.
        code: String,
    },
}

impl Credentials {
    /// A username and password.
    #[must_use]
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Password {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A license code.
    #[must_use]
    pub fn license_code(code: impl Into<String>) -> Self {
        Self::LicenseCode { code: code.into() }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Self::LicenseCode { .. } => f
                .debug_struct("LicenseCode")
                .field("code", &"[redacted]")
                .finish(),
        }
    }
}
