//! Sign-in sessions: opaque tokens, stored as digests, that expire.

use crate::values::{DeviceId, Digest, SessionId, UserId};
use chrono::{DateTime, Utc};

/// What is needed to store a session; the token itself is only ever shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: SessionId,
    pub token_digest: Digest,
    pub user: UserId,
    pub device: Option<DeviceId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user: UserId,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Live until it expires or is revoked.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// An application variable, shown to signed-in clients: a name of 1 to 64 characters and a
/// value of at most 10,000, neither with control characters (newlines, carriage returns and
/// tabs are allowed in values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub value: String,
    /// Shown to callers without a session too, when the application allows anonymous access.
    pub is_public: bool,
}

/// A variable of one user: a name of 1 to 64 characters of `[A-Za-z0-9_.-]` and a value of at
/// most 10,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVariable {
    pub name: String,
    pub value: String,
}

impl UserVariable {
    /// # Errors
    /// [`VariableError`] naming the part at fault.
    pub fn parse(name: &str, value: &str) -> Result<Self, VariableError> {
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !name_ok {
            return Err(VariableError::UserName);
        }
        if value.chars().count() > 10_000 {
            return Err(VariableError::Value);
        }
        Ok(Self {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VariableError {
    #[error("must be 1 to 64 characters of A-Z, a-z, 0-9, _, . and -")]
    UserName,
    #[error("must be 1 to 64 characters without control characters")]
    Name,
    #[error(
        "must be at most 10000 characters without control characters other than newline and tab"
    )]
    Value,
}

impl Variable {
    /// # Errors
    /// [`VariableError`] naming the part at fault.
    pub fn parse(name: &str, value: &str, is_public: bool) -> Result<Self, VariableError> {
        let name_chars = name.chars().count();
        if name_chars == 0 || name_chars > 64 || name.chars().any(char::is_control) {
            return Err(VariableError::Name);
        }
        let bad_value = value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'));
        if value.chars().count() > 10_000 || bad_value {
            return Err(VariableError::Value);
        }
        Ok(Self {
            name: name.to_owned(),
            value: value.to_owned(),
            is_public,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_variable_names_are_64_url_safe_characters_at_most() {
        assert!(UserVariable::parse("high_score.v2-a", "9000").is_ok());
        assert!(UserVariable::parse(&"n".repeat(64), &"v".repeat(10_000)).is_ok());
        for bad in ["", "has space", "slash/", "é", &"n".repeat(65)] {
            assert_eq!(
                UserVariable::parse(bad, "x"),
                Err(VariableError::UserName),
                "{bad}"
            );
        }
        assert_eq!(
            UserVariable::parse("n", &"v".repeat(10_001)),
            Err(VariableError::Value)
        );
    }

    #[test]
    fn variables_have_bounded_names_and_values() {
        assert!(Variable::parse("motd", "hello\nworld", false).is_ok());
        assert_eq!(Variable::parse("", "x", false), Err(VariableError::Name));
        assert_eq!(
            Variable::parse(&"n".repeat(65), "x", false),
            Err(VariableError::Name)
        );
        assert!(Variable::parse(&"n".repeat(64), &"v".repeat(10_000), true).is_ok());
        assert_eq!(
            Variable::parse("n", &"v".repeat(10_001), false),
            Err(VariableError::Value)
        );
        assert_eq!(
            Variable::parse("n", "a\u{0}b", false),
            Err(VariableError::Value)
        );
    }
}
