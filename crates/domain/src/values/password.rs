//! Passwords in plaintext (never printed) and as stored PHC hashes.

use std::fmt;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

/// A password of 8 to 128 code points, NFKC-normalised so that the same characters typed on
/// different keyboards hash alike. It has no `Display`, and its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("must be at least 8 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// Length is counted in code points of the value as given; it is never truncated.
    ///
    /// # Errors
    /// [`PasswordError`] when the length is out of bounds.
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw.nfkc().collect()))
    }

    /// The normalised plaintext, for the password hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash as a PHC string (`$argon2id$v=19$m=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    #[must_use]
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_counted_in_code_points_not_bytes() {
        assert!(Password::parse("ééééééé").is_err());
        assert!(Password::parse("éééééééé").is_ok());
        assert!(Password::parse(&"€".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"€".repeat(129)),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn a_password_is_nfkc_normalised() {
        let full_width = Password::parse("ｐａｓｓｗｏｒｄ1").unwrap();
        assert_eq!(full_width.expose(), "password1");
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
