//! Bans by IP range, device, license or user, and the question "is any of these banned?".

use crate::values::{BanId, ClientIp, HardwareId, IpBanRange, LicenseId, UserId};
use chrono::{DateTime, Utc};

/// What a ban applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanTarget {
    Ip(IpBanRange),
    HardwareId(HardwareId),
    License(LicenseId),
    User(UserId),
}

/// The four kinds of ban, as named in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BanKind {
    Ip,
    HardwareId,
    License,
    User,
}

impl BanKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::HardwareId => "hardware_id",
            Self::License => "license",
            Self::User => "user",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Ip, Self::HardwareId, Self::License, Self::User]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
    }
}

impl BanTarget {
    #[must_use]
    pub const fn kind(&self) -> BanKind {
        match self {
            Self::Ip(_) => BanKind::Ip,
            Self::HardwareId(_) => BanKind::HardwareId,
            Self::License(_) => BanKind::License,
            Self::User(_) => BanKind::User,
        }
    }

    /// How the target is shown: the canonical range, the hardware id, or the license's or
    /// user's id (codes are secrets and are not stored in plaintext).
    #[must_use]
    pub fn value(&self) -> String {
        match self {
            Self::Ip(range) => range.to_string(),
            Self::HardwareId(id) => id.as_str().to_owned(),
            Self::License(id) => id.to_string(),
            Self::User(id) => id.to_string(),
        }
    }
}

/// What is needed to store a ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBan {
    pub id: BanId,
    pub target: BanTarget,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl NewBan {
    /// The ban as stored right after creation.
    #[must_use]
    pub fn created(&self) -> Ban {
        Ban {
            id: self.id,
            target: self.target.clone(),
            reason: self.reason.clone(),
            created_at: self.created_at,
        }
    }
}

/// A stored ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub id: BanId,
    pub target: BanTarget,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The identifiers of one request, to check against an application's bans in one query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanProbe {
    pub ip: Option<ClientIp>,
    pub hardware_id: Option<HardwareId>,
    pub license: Option<LicenseId>,
    pub user: Option<UserId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_kinds_round_trip_through_their_names() {
        for kind in [
            BanKind::Ip,
            BanKind::HardwareId,
            BanKind::License,
            BanKind::User,
        ] {
            assert_eq!(BanKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(BanKind::parse("IP"), None);
    }
}
