//! Durations as people type them in the console: `30d`, `12h`, `3d 4h 30m`, `2w`, or
//! `lifetime`. One parser for minting licenses and for adjusting membership time.

use crate::license::LicenseDuration;
use thiserror::Error;

/// A typed duration: a number of minutes, or lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedDuration {
    /// At least one minute, at most [`LicenseDuration::MAX_MINUTES`].
    Minutes(u32),
    Lifetime,
}

/// Why a typed duration is not one; the message says what to type instead.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("type a duration such as 30d, 12h, 3d 4h 30m, 2w or lifetime")]
    Empty,
    #[error(
        "{0:?} is not a duration part: use a whole number followed by w (weeks), d (days), h (hours) or m (minutes), e.g. 3d 4h 30m"
    )]
    Part(String),
    #[error("{0:?} is given twice: name each unit once, e.g. 3d 4h")]
    Repeated(char),
    #[error("the duration must be at least one minute")]
    Zero,
    #[error("the duration must be at most 100 years (52560000 minutes); for longer, use lifetime")]
    TooLong,
    #[error("lifetime is not a length of time here: type a duration such as 3d 4h")]
    LifetimeNotAllowed,
}

impl TypedDuration {
    /// Parses `30d`, `12h`, `45m`, `2w`, `3d 4h 30m` (parts in any order, each unit at most
    /// once, spaces optional: `3d4h`), or `lifetime`; case and surrounding spaces do not matter.
    ///
    /// # Errors
    /// [`DurationError`], saying what to type instead.
    pub fn parse(raw: &str) -> Result<Self, DurationError> {
        let text = raw.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        if text == "lifetime" {
            return Ok(Self::Lifetime);
        }
        let mut total: u64 = 0;
        let mut seen = Vec::new();
        let mut number = String::new();
        let mut part = String::new();
        for c in text.chars() {
            if c.is_whitespace() {
                if !number.is_empty() {
                    // "3 d" is allowed: the number waits for its unit.
                    part.push(c);
                }
                continue;
            }
            part.push(c);
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let minutes_per_unit: u64 = match c {
                'w' => 7 * 24 * 60,
                'd' => 24 * 60,
                'h' => 60,
                'm' => 1,
                _ => return Err(DurationError::Part(part.trim().to_owned())),
            };
            if number.is_empty() {
                return Err(DurationError::Part(part.trim().to_owned()));
            }
            if seen.contains(&c) {
                return Err(DurationError::Repeated(c));
            }
            seen.push(c);
            let count: u64 = number.parse().map_err(|_| DurationError::TooLong)?;
            total = count
                .checked_mul(minutes_per_unit)
                .and_then(|minutes| total.checked_add(minutes))
                .ok_or(DurationError::TooLong)?;
            number.clear();
            part.clear();
        }
        if !part.trim().is_empty() {
            return Err(DurationError::Part(part.trim().to_owned()));
        }
        if total == 0 {
            return Err(DurationError::Zero);
        }
        u32::try_from(total)
            .ok()
            .filter(|minutes| *minutes <= LicenseDuration::MAX_MINUTES)
            .map(Self::Minutes)
            .ok_or(DurationError::TooLong)
    }

    /// Like [`Self::parse`], refusing `lifetime` (a membership adjustment is a length of time).
    ///
    /// # Errors
    /// [`DurationError`].
    pub fn parse_minutes(raw: &str) -> Result<u32, DurationError> {
        match Self::parse(raw)? {
            Self::Minutes(minutes) => Ok(minutes),
            Self::Lifetime => Err(DurationError::LifetimeNotAllowed),
        }
    }

    /// What a license of this duration grants.
    #[must_use]
    pub const fn license_duration(self) -> LicenseDuration {
        match self {
            Self::Minutes(minutes) => LicenseDuration::Minutes(minutes),
            Self::Lifetime => LicenseDuration::Lifetime,
        }
    }
}

/// Minutes as the console shows them: `3d 4h 30m`, the inverse of [`TypedDuration::parse`]
/// (whole weeks are shown as days).
#[must_use]
pub fn format_minutes(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let mut left = minutes.unsigned_abs();
    if left == 0 {
        return "0m".to_owned();
    }
    let mut parts = Vec::new();
    for (unit, size) in [("d", 24 * 60), ("h", 60), ("m", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_units_are_read_as_minutes() {
        assert_eq!(
            TypedDuration::parse("30d"),
            Ok(TypedDuration::Minutes(43_200))
        );
        assert_eq!(TypedDuration::parse("12h"), Ok(TypedDuration::Minutes(720)));
        assert_eq!(TypedDuration::parse("45m"), Ok(TypedDuration::Minutes(45)));
        assert_eq!(
            TypedDuration::parse("2w"),
            Ok(TypedDuration::Minutes(20_160))
        );
    }

    #[test]
    fn parts_add_up_in_any_order_with_or_without_spaces() {
        let expected = Ok(TypedDuration::Minutes(3 * 1440 + 4 * 60 + 30));
        assert_eq!(TypedDuration::parse("3d 4h 30m"), expected);
        assert_eq!(TypedDuration::parse("3d4h30m"), expected);
        assert_eq!(TypedDuration::parse("  30m 3D 4h "), expected);
        assert_eq!(TypedDuration::parse("3 d 4 h 30 m"), expected);
        assert_eq!(
            TypedDuration::parse("1w 1d"),
            Ok(TypedDuration::Minutes(8 * 1440))
        );
    }

    #[test]
    fn lifetime_is_a_word_and_is_refused_where_time_is_needed() {
        assert_eq!(
            TypedDuration::parse("Lifetime"),
            Ok(TypedDuration::Lifetime)
        );
        assert_eq!(
            TypedDuration::parse_minutes("lifetime"),
            Err(DurationError::LifetimeNotAllowed)
        );
        assert_eq!(TypedDuration::parse_minutes("1h"), Ok(60));
    }

    #[test]
    fn garbage_is_refused_with_the_part_at_fault() {
        assert_eq!(TypedDuration::parse(""), Err(DurationError::Empty));
        assert_eq!(TypedDuration::parse("   "), Err(DurationError::Empty));
        assert_eq!(
            TypedDuration::parse("3x"),
            Err(DurationError::Part("3x".to_owned()))
        );
        assert_eq!(
            TypedDuration::parse("30"),
            Err(DurationError::Part("30".to_owned()))
        );
        assert_eq!(
            TypedDuration::parse("d"),
            Err(DurationError::Part("d".to_owned()))
        );
        assert_eq!(
            TypedDuration::parse("-3d"),
            Err(DurationError::Part("-".to_owned()))
        );
        assert_eq!(
            TypedDuration::parse("1.5h"),
            Err(DurationError::Part("1.".to_owned()))
        );
        assert_eq!(
            TypedDuration::parse("forever"),
            Err(DurationError::Part("f".to_owned()))
        );
        assert_eq!(
            TypedDuration::parse("3d 2d"),
            Err(DurationError::Repeated('d'))
        );
    }

    #[test]
    fn zero_and_too_long_are_refused() {
        assert_eq!(TypedDuration::parse("0d"), Err(DurationError::Zero));
        assert_eq!(TypedDuration::parse("0h 0m"), Err(DurationError::Zero));
        assert_eq!(
            TypedDuration::parse("36500d"),
            Ok(TypedDuration::Minutes(52_560_000))
        );
        assert_eq!(TypedDuration::parse("36501d"), Err(DurationError::TooLong));
        assert_eq!(
            TypedDuration::parse("99999999999999999999999d"),
            Err(DurationError::TooLong)
        );
    }

    #[test]
    fn minutes_are_shown_in_the_form_they_are_typed() {
        assert_eq!(format_minutes(3 * 1440 + 4 * 60 + 30), "3d 4h 30m");
        assert_eq!(format_minutes(-90), "-1h 30m");
        assert_eq!(format_minutes(0), "0m");
        assert_eq!(format_minutes(1440), "1d");
        let typed = TypedDuration::parse(&format_minutes(4000));
        assert_eq!(typed, Ok(TypedDuration::Minutes(4000)));
    }

    #[test]
    fn a_typed_duration_is_a_license_duration() {
        assert_eq!(
            TypedDuration::Minutes(60).license_duration(),
            LicenseDuration::Minutes(60)
        );
        assert_eq!(
            TypedDuration::Lifetime.license_duration(),
            LicenseDuration::Lifetime
        );
    }
}
