//! The opaque device identifier a client sends.

use thiserror::Error;

/// 1 to 256 characters, no control characters; compared exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HardwareId(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HardwareIdError {
    #[error("must be 1 to 256 characters")]
    Length,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl HardwareId {
    pub const MAX_CHARS: usize = 256;

    /// # Errors
    /// [`HardwareIdError`] when the value breaks the input rules.
    pub fn parse(raw: &str) -> Result<Self, HardwareIdError> {
        let chars = raw.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(HardwareIdError::Length);
        }
        if raw.chars().any(char::is_control) {
            return Err(HardwareIdError::ControlCharacter);
        }
        Ok(Self(raw.to_owned()))
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
    fn a_hardware_id_is_kept_exactly_as_given() {
        let id = HardwareId::parse(" Device-1 ").unwrap();
        assert_eq!(id.as_str(), " Device-1 ");
    }

    #[test]
    fn an_empty_or_overlong_hardware_id_is_rejected() {
        assert_eq!(HardwareId::parse(""), Err(HardwareIdError::Length));
        assert!(HardwareId::parse(&"é".repeat(256)).is_ok());
        assert_eq!(
            HardwareId::parse(&"é".repeat(257)),
            Err(HardwareIdError::Length)
        );
    }

    #[test]
    fn a_hardware_id_with_a_control_character_is_rejected() {
        assert_eq!(
            HardwareId::parse("abc\n"),
            Err(HardwareIdError::ControlCharacter)
        );
    }
}
