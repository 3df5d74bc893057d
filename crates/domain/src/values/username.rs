//! Usernames: what may be one, and when two are the same.

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

/// A valid username. `display` is the NFKC form as first given; `canonical` decides identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    display: String,
    canonical: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("must be 3 to 32 characters")]
    Length,
    #[error("may contain only letters, digits, '_', '.' and '-'")]
    Character,
    #[error("must not mix scripts in a way that can be confused with another name")]
    Confusable,
}

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 32;

    /// # Errors
    /// [`UsernameError`] when the value breaks the input rules.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let display: String = raw.nfkc().collect();
        let chars = display.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(UsernameError::Length);
        }
        // Letters and digits exclude whitespace, control, format (Cf) and bidi characters.
        if !display
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(UsernameError::Character);
        }
        // UTS #39 "highly restrictive": one script, or Latin with Han/Kana/Hangul as people
        // really write. `раураl` (Cyrillic with Latin) fails; `山田taro` passes.
        let letters: String = display.chars().filter(|c| c.is_alphabetic()).collect();
        if !letters
            .as_str()
            .check_restriction_level(RestrictionLevel::HighlyRestrictive)
        {
            return Err(UsernameError::Confusable);
        }
        let canonical = canonical_form(&display);
        Ok(Self { display, canonical })
    }

    /// A fresh name for a user who signed up with a license code: `user-` and 26 random
    /// base32 characters (130 bits), so it is valid and, in practice, unique.
    #[must_use]
    pub fn generate() -> Self {
        let display = format!("user-{}", super::secret::random_base32(16).to_lowercase());
        let canonical = canonical_form(&display);
        Self { display, canonical }
    }

    /// As first given, NFKC-normalised: what is stored and shown.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// What a search for `raw` (the start of a username) matches: the canonical form of the
    /// trimmed text, compared with the start of canonical usernames. Not checked as a
    /// username: any text may start one, or start none.
    #[must_use]
    pub fn search_prefix(raw: &str) -> String {
        canonical_form(&raw.trim().nfkc().collect::<String>())
    }

    /// casefold(NFKC(s)): `Alice`, `alice` and `ＡＬＩＣＥ` share it.
    #[must_use]
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

/// Unicode's compatibility caseless form (D146), which is stable under repetition:
/// NFKC(casefold(NFKD(casefold(NFD(s))))).
#[must_use]
pub fn canonical_form(s: &str) -> String {
    let once = caseless::default_case_fold_str(&s.nfd().collect::<String>());
    let twice = caseless::default_case_fold_str(&once.nfkd().collect::<String>());
    twice.nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_and_width_variants_share_one_canonical_form() {
        let a = Username::parse("Alice").unwrap();
        let b = Username::parse("alice").unwrap();
        let c = Username::parse("ＡＬＩＣＥ").unwrap();
        assert_eq!(a.canonical(), "alice");
        assert_eq!(b.canonical(), a.canonical());
        assert_eq!(c.canonical(), a.canonical());
        assert_eq!(c.as_str(), "ALICE", "stored as given after NFKC");
        assert_eq!(a.as_str(), "Alice");
    }

    #[test]
    fn the_german_sharp_s_folds_to_ss() {
        let a = Username::parse("straße").unwrap();
        let b = Username::parse("STRASSE").unwrap();
        assert_eq!(a.canonical(), b.canonical());
    }

    #[test]
    fn length_is_three_to_thirty_two_characters_after_nfkc() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"ж".repeat(32)).is_ok());
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::Length));
    }

    #[test]
    fn punctuation_whitespace_control_and_bidi_characters_are_rejected() {
        for bad in [
            "john doe",
            "john\tdoe",
            "john\u{0}doe",
            "john@doe",
            "john\u{200B}doe",
            "john\u{202E}doe",
            "john\u{200D}doe",
        ] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::Character),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn letters_digits_and_the_three_marks_are_accepted() {
        for good in [
            "john_doe",
            "j.doe-99",
            "Ölçü",
            "山田taro",
            "пользователь",
            "東京2024",
        ] {
            assert!(Username::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_latin_name_with_a_cyrillic_letter_is_rejected_as_confusable() {
        // "pаypal" with U+0430 CYRILLIC SMALL LETTER A.
        assert_eq!(
            Username::parse("p\u{430}ypal"),
            Err(UsernameError::Confusable)
        );
    }

    #[test]
    fn generated_usernames_are_valid_and_distinct() {
        let a = Username::generate();
        let b = Username::generate();
        assert_ne!(a, b);
        assert_eq!(Username::parse(a.as_str()).unwrap(), a);
    }

    proptest! {
        #[test]
        fn canonicalisation_is_idempotent(s in "\\PC{0,40}") {
            let once = canonical_form(&s);
            prop_assert_eq!(canonical_form(&once), once);
        }

        #[test]
        fn a_valid_username_and_its_canonical_form_are_the_same_user(s in "[\\p{L}\\p{Nd}_.-]{3,32}") {
            if let Ok(name) = Username::parse(&s)
                && let Ok(again) = Username::parse(name.canonical())
            {
                prop_assert_eq!(again.canonical(), name.canonical());
            }
        }

        #[test]
        fn parsing_never_panics(s in "\\PC*|.*") {
            let _ = Username::parse(&s);
        }
    }
}
