//! Licenses: single-use codes that grant minutes of membership, or a lifetime.

use crate::user::Membership;
use crate::values::{LicenseCode, LicenseId, UserId};
use chrono::{DateTime, Duration, Utc};

/// What a license grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseDuration {
    Minutes(u32),
    Lifetime,
}

impl LicenseDuration {
    /// About a hundred years: longer is a typo, or lifetime.
    pub const MAX_MINUTES: u32 = 52_560_000;

    /// The membership of a user whose time starts `now`.
    #[must_use]
    pub fn membership_from(self, now: DateTime<Utc>) -> Membership {
        match self {
            Self::Minutes(minutes) => Membership {
                is_lifetime: false,
                active_until: Some(now + Duration::minutes(i64::from(minutes))),
            },
            Self::Lifetime => Membership {
                is_lifetime: true,
                active_until: None,
            },
        }
    }

    #[must_use]
    pub const fn minutes(self) -> Option<u32> {
        match self {
            Self::Minutes(minutes) => Some(minutes),
            Self::Lifetime => None,
        }
    }
}

/// What is needed to store a license: the code itself goes to the store only to be digested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLicense {
    pub id: LicenseId,
    pub code: LicenseCode,
    pub duration: LicenseDuration,
    pub created_at: DateTime<Utc>,
}

/// A stored license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub id: LicenseId,
    pub duration: LicenseDuration,
    pub activated_at: Option<DateTime<Utc>>,
    pub activated_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

impl License {
    #[must_use]
    pub const fn is_used(&self) -> bool {
        self.activated_at.is_some()
    }

    /// The license as its claim by `user` at `at` stores it.
    #[must_use]
    pub const fn used_by(self, user: UserId, at: DateTime<Utc>) -> Self {
        Self {
            activated_at: Some(at),
            activated_by: Some(user),
            ..self
        }
    }
}

impl crate::user::Adjustment {
    /// The ledger row of a license being redeemed: its minutes, or lifetime access.
    #[must_use]
    pub fn for_license(license: &License, at: DateTime<Utc>) -> Self {
        Self {
            id: crate::values::AdjustmentId::generate(),
            kind: crate::user::AdjustmentKind::License,
            occurred_at: at,
            minutes: license.duration.minutes().map_or(0, i64::from),
            grants_lifetime_access: license.duration.minutes().is_none(),
            revokes_lifetime_access: false,
            license_id: Some(license.id),
            reason: None,
        }
    }
}

/// A license as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseDetails {
    pub license: License,
    pub is_banned: bool,
}

/// Which licenses a list shows. `code` finds the one license with that code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseFilter {
    pub used: Option<bool>,
    pub banned: Option<bool>,
    /// Created at or after.
    pub created_since: Option<DateTime<Utc>>,
    /// Created before.
    pub created_until: Option<DateTime<Utc>>,
    pub code: Option<LicenseCode>,
    /// Bans in force at this time count as bans.
    pub now: DateTime<Utc>,
}

/// A license just created, with its code in plaintext to show once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedLicense {
    pub license: License,
    pub code: LicenseCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minutes_license_starts_its_time_now() {
        let now = Utc::now();
        let membership = LicenseDuration::Minutes(90).membership_from(now);
        assert_eq!(membership.active_until, Some(now + Duration::minutes(90)));
        assert!(!membership.is_lifetime);
        assert!(membership.is_active(now));
    }

    #[test]
    fn a_lifetime_license_grants_lifetime_access() {
        let membership = LicenseDuration::Lifetime.membership_from(Utc::now());
        assert!(membership.is_lifetime);
        assert_eq!(membership.active_until, None);
    }
}
