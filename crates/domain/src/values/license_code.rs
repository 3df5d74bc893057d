//! License codes: generated or imported, matched ignoring case, dashes and spaces.

use super::secret::{Digest, random_base32};
use std::fmt;
use thiserror::Error;

/// A license code in its normalised form (upper case, no dashes or spaces).
/// Its `Debug` hides the value: codes are secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseCode(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LicenseCodeError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 64 characters")]
    TooLong,
    #[error("may contain only letters A-Z, digits, dashes and spaces")]
    Character,
}

impl LicenseCode {
    pub const MAX_CHARS: usize = 64;
    const GROUP: usize = 4;

    /// # Errors
    /// [`LicenseCodeError`] when the value breaks the input rules.
    pub fn parse(raw: &str) -> Result<Self, LicenseCodeError> {
        let trimmed = raw.trim();
        // The limit counts the code itself; dashes and spaces may double it as typed (the
        // grouped form this type prints must always read back).
        if trimmed.chars().count() > 2 * Self::MAX_CHARS {
            return Err(LicenseCodeError::TooLong);
        }
        let normalised: String = trimmed
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if normalised.is_empty() {
            return Err(LicenseCodeError::Empty);
        }
        if normalised.chars().count() > Self::MAX_CHARS {
            return Err(LicenseCodeError::TooLong);
        }
        if !normalised.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(LicenseCodeError::Character);
        }
        Ok(Self(normalised))
    }

    /// 160 bits from the CSPRNG in Crockford base32 (no I, L, O, U): 32 characters.
    #[must_use]
    pub fn generate() -> Self {
        Self(random_base32(20))
    }

    /// Grouped with dashes for people: `ABCD-EFGH-…`.
    #[must_use]
    pub fn formatted(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars
            .chunks(Self::GROUP)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// What the store keeps and matches on.
    #[must_use]
    pub fn digest(&self) -> Digest {
        Digest::of(&self.0)
    }
}

impl fmt::Debug for LicenseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LicenseCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_ignoring_case_dashes_spaces_and_surrounding_whitespace() {
        let a = LicenseCode::parse("ABC123XYZ789").unwrap();
        let b = LicenseCode::parse("  abc-123 xyz-789\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn a_generated_code_round_trips_through_its_formatted_form() {
        let code = LicenseCode::generate();
        let shown = code.formatted();
        assert_eq!(shown.len(), 32 + 7);
        let alphabet = super::super::secret::ALPHABET;
        assert!(
            shown.chars().all(|c| c == '-' || alphabet.contains(c)),
            "{shown}"
        );
        assert_eq!(LicenseCode::parse(&shown).unwrap(), code);
        assert_ne!(LicenseCode::generate(), code);
    }

    #[test]
    fn bad_codes_are_rejected() {
        assert_eq!(LicenseCode::parse(" - "), Err(LicenseCodeError::Empty));
        assert_eq!(
            LicenseCode::parse(&"A".repeat(65)),
            Err(LicenseCodeError::TooLong)
        );
        assert!(LicenseCode::parse(&"A".repeat(64)).is_ok());
        let longest = LicenseCode::parse(&"A".repeat(64)).unwrap();
        assert_eq!(
            LicenseCode::parse(&longest.formatted()).unwrap(),
            longest,
            "the grouped form reads back"
        );
        assert_eq!(
            LicenseCode::parse(&"A-".repeat(65)),
            Err(LicenseCodeError::TooLong)
        );
        assert_eq!(
            LicenseCode::parse("ABC_123"),
            Err(LicenseCodeError::Character)
        );
        assert_eq!(
            LicenseCode::parse("ÄBC123"),
            Err(LicenseCodeError::Character)
        );
    }
}
