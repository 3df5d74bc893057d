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
    pub created_at: DateTime<Utc>,
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
}
