//! Users, their membership and their devices.

use crate::values::{ClientIp, DeviceId, HardwareId, PasswordHash, UserId, Username};
use chrono::{DateTime, Utc};

/// How a user signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Password(PasswordHash),
    LicenseCode,
}

/// Whether, and until when, a user may use the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Membership {
    pub is_lifetime: bool,
    pub active_until: Option<DateTime<Utc>>,
}

impl Membership {
    /// Active when lifetime, or when `active_until` is still ahead.
    #[must_use]
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.is_lifetime || self.active_until.is_some_and(|until| until > now)
    }

    /// The membership after `adjustment`: minutes count from `max(now, active_until)`, so
    /// time bought while active is added to the end, and time bought after expiry starts now.
    #[must_use]
    pub fn after(&self, adjustment: &Adjustment, now: DateTime<Utc>) -> Self {
        let start = self.active_until.map_or(now, |until| until.max(now));
        let active_until = if adjustment.minutes == 0 {
            self.active_until
        } else {
            Some(start + chrono::Duration::minutes(adjustment.minutes))
        };
        Self {
            is_lifetime: (self.is_lifetime || adjustment.grants_lifetime_access)
                && !adjustment.revokes_lifetime_access,
            active_until,
        }
    }
}

/// Why a membership changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentKind {
    License,
    Admin,
}

impl AdjustmentKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::License => "license",
            Self::Admin => "admin",
        }
    }
}

/// One row of a user's membership ledger: changes are recorded, never overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub id: crate::values::AdjustmentId,
    pub kind: AdjustmentKind,
    pub occurred_at: DateTime<Utc>,
    /// Added minutes (negative: removed).
    pub minutes: i64,
    pub grants_lifetime_access: bool,
    pub revokes_lifetime_access: bool,
    pub license_id: Option<crate::values::LicenseId>,
    /// Why an operator made it (a console bulk adjustment's reason); at most
    /// [`Adjustment::MAX_REASON_CHARS`] characters.
    pub reason: Option<String>,
}

impl Adjustment {
    /// A reason is free text of at most this many characters, like a ban's.
    pub const MAX_REASON_CHARS: usize = 500;
}

/// What is needed to create a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub credential: Credential,
    pub membership: Membership,
    pub signup_ip: ClientIp,
    pub created_at: DateTime<Utc>,
}

impl NewUser {
    /// The user as stored right after creation: the sign-up IP is also the last IP.
    #[must_use]
    pub fn created(&self) -> User {
        User {
            id: self.id,
            username: self.username.as_str().to_owned(),
            credential: self.credential.clone(),
            membership: self.membership,
            signup_ip: Some(self.signup_ip),
            last_ip: Some(self.signup_ip),
            device_limit: None,
            session_limit: None,
            created_at: self.created_at,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// As first given (NFKC).
    pub username: String,
    pub credential: Credential,
    pub membership: Membership,
    pub signup_ip: Option<ClientIp>,
    pub last_ip: Option<ClientIp>,
    /// The user's own device limit, overriding the application's.
    pub device_limit: Option<u32>,
    /// The user's own session limit, overriding the application's.
    pub session_limit: Option<u32>,
    pub created_at: DateTime<Utc>,
}

/// A user's own limits; `None` leaves the application's in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserLimits {
    pub device_limit: Option<u32>,
    pub session_limit: Option<u32>,
}

/// A device registered to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub hardware_id: HardwareId,
    pub registered_at: DateTime<Utc>,
}

/// A user with their devices, for the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetails {
    pub user: User,
    pub devices: Vec<Device>,
    /// The ban of the user in force now, if any.
    pub ban: Option<crate::ban::Ban>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_membership_is_active_while_lifetime_or_not_yet_expired() {
        let now = Utc::now();
        assert!(!Membership::default().is_active(now));
        let lifetime = Membership {
            is_lifetime: true,
            active_until: None,
        };
        assert!(lifetime.is_active(now));
        let later = Membership {
            is_lifetime: false,
            active_until: Some(now + Duration::minutes(1)),
        };
        assert!(later.is_active(now));
        let expired = Membership {
            is_lifetime: false,
            active_until: Some(now),
        };
        assert!(!expired.is_active(now));
    }

    fn adjustment(minutes: i64, grants: bool, revokes: bool) -> Adjustment {
        Adjustment {
            id: crate::values::AdjustmentId::generate(),
            kind: AdjustmentKind::Admin,
            occurred_at: Utc::now(),
            minutes,
            grants_lifetime_access: grants,
            revokes_lifetime_access: revokes,
            license_id: None,
            reason: None,
        }
    }

    #[test]
    fn minutes_count_from_the_later_of_now_and_the_current_end() {
        let now = Utc::now();
        let active = Membership {
            is_lifetime: false,
            active_until: Some(now + Duration::days(1)),
        };
        let expired = Membership {
            is_lifetime: false,
            active_until: Some(now - Duration::days(1)),
        };
        let add = adjustment(60, false, false);
        assert_eq!(
            active.after(&add, now).active_until,
            Some(now + Duration::days(1) + Duration::minutes(60))
        );
        assert_eq!(
            expired.after(&add, now).active_until,
            Some(now + Duration::minutes(60))
        );
        assert_eq!(
            Membership::default().after(&add, now).active_until,
            Some(now + Duration::minutes(60))
        );
        let twice = Membership::default().after(&add, now).after(&add, now);
        assert_eq!(
            twice.active_until,
            Some(now + Duration::minutes(120)),
            "time adds up"
        );
    }

    #[test]
    fn lifetime_is_granted_and_revoked_by_adjustments() {
        let now = Utc::now();
        let granted = Membership::default().after(&adjustment(0, true, false), now);
        assert!(granted.is_lifetime && granted.is_active(now));
        assert_eq!(granted.active_until, None);
        let revoked = granted.after(&adjustment(0, false, true), now);
        assert!(!revoked.is_lifetime && !revoked.is_active(now));
    }
}
