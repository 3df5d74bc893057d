//! Bans by IP range, device, license or user, and the question "is any of these banned?".
//!
//! Every ban is found by one exact key, and a request's identifiers become the few keys
//! that could match them (see [`BanTarget::match_key`] and [`BanProbe::match_keys`]): a ban
//! check is a handful of index seeks, whatever the number of bans.

use crate::values::{BanId, ClientIp, HardwareId, IpBanRange, LicenseId, PrefixLength, UserId};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use uuid::Uuid;

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
    pub const ALL: [Self; 4] = [Self::Ip, Self::HardwareId, Self::License, Self::User];

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
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
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

    /// The one key the ban is stored and found under: the kind, then the canonical range
    /// with its prefix length (`ip:203.0.113.7/32`), or the exact value. Two bans of one
    /// target have one key, so the store keeps one.
    #[must_use]
    pub fn match_key(&self) -> String {
        match self {
            Self::Ip(range) => ip_key(range),
            other => format!("{}:{}", other.kind().as_str(), other.value()),
        }
    }

    /// The license's or user's id, for a ban of one.
    #[must_use]
    pub const fn subject_id(&self) -> Option<Uuid> {
        match self {
            Self::License(id) => Some(id.as_uuid()),
            Self::User(id) => Some(id.as_uuid()),
            Self::Ip(_) | Self::HardwareId(_) => None,
        }
    }

    /// Every target a ban list's `value` filter may mean, of `kind` or of any kind: a value
    /// is read as each kind it parses as (`1.2.3.4` as an address and as a hardware id).
    #[must_use]
    pub fn shown_as(kind: Option<BanKind>, value: &str) -> Vec<Self> {
        let kinds = kind.map_or_else(|| BanKind::ALL.to_vec(), |kind| vec![kind]);
        kinds
            .into_iter()
            .filter_map(|kind| match kind {
                BanKind::Ip => IpBanRange::parse(value).ok().map(Self::Ip),
                BanKind::HardwareId => HardwareId::parse(value).ok().map(Self::HardwareId),
                BanKind::License => Uuid::parse_str(value)
                    .ok()
                    .map(|id| Self::License(LicenseId::from_uuid(id))),
                BanKind::User => Uuid::parse_str(value)
                    .ok()
                    .map(|id| Self::User(UserId::from_uuid(id))),
            })
            .collect()
    }
}

fn ip_key(range: &IpBanRange) -> String {
    format!("ip:{}", range.prefix())
}

/// What is needed to store a ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBan {
    pub id: BanId,
    pub target: BanTarget,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `None`: the ban never expires.
    pub expires_at: Option<DateTime<Utc>>,
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
            expires_at: self.expires_at,
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
    pub expires_at: Option<DateTime<Utc>>,
}

impl Ban {
    /// A ban holds until the instant it expires: at `expires_at` itself it no longer matches.
    #[must_use]
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expires_at| now < expires_at)
    }
}

/// The outcome of storing a ban: a target already banned keeps its existing ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBan {
    Created(Ban),
    Existing(Ban),
}

impl StoredBan {
    #[must_use]
    pub const fn ban(&self) -> &Ban {
        match self {
            Self::Created(ban) | Self::Existing(ban) => ban,
        }
    }

    #[must_use]
    pub fn into_ban(self) -> Ban {
        match self {
            Self::Created(ban) | Self::Existing(ban) => ban,
        }
    }
}

/// Which bans a list shows; every list shows only bans in force at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanFilter {
    pub kind: Option<BanKind>,
    /// The match keys of the targets a `value` filter may mean ([`BanTarget::shown_as`]);
    /// `None`: no value filter.
    pub match_keys: Option<Vec<String>>,
    pub now: DateTime<Utc>,
}

/// The prefix lengths an application's IP bans use ([`crate::ports::BanStore::ip_prefix_lengths`]).
/// Applications ban a handful of lengths (single addresses, `/24`s, IPv6 `/64`s), so a check
/// that probes only those makes 2 to 4 seeks for an address instead of 33 or 129.
pub type IpPrefixLengths = BTreeSet<PrefixLength>;

/// The identifiers of one request, to check against an application's bans in one query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanProbe {
    pub ip: Option<ClientIp>,
    pub hardware_id: Option<HardwareId>,
    pub license: Option<LicenseId>,
    pub user: Option<UserId>,
    /// The prefix lengths of the application's IP bans, when the caller knows them: only
    /// the address's prefixes of these lengths are probed. `None`: all of them.
    pub ip_prefix_lengths: Option<IpPrefixLengths>,
}

impl BanProbe {
    /// The keys of every ban that would refuse this request: each identifier's own key and,
    /// for the address, the key of every range holding it, its 33 (IPv4) or 129 (IPv6)
    /// prefixes from `/0` to the address itself, or those of them whose lengths are in
    /// [`BanProbe::ip_prefix_lengths`]. A store finds a ban by any of them with one index
    /// seek each, so the check costs O(log n) in the number of bans n.
    #[must_use]
    pub fn match_keys(&self) -> Vec<String> {
        let banned_length = |range: &IpBanRange| {
            self.ip_prefix_lengths
                .as_ref()
                .is_none_or(|lengths| lengths.contains(&range.prefix_length()))
        };
        let mut keys: Vec<String> = self
            .ip
            .iter()
            .flat_map(|ip| IpBanRange::holding(*ip))
            .filter(banned_length)
            .map(|range| ip_key(&range))
            .collect();
        let exact = [
            self.hardware_id.clone().map(BanTarget::HardwareId),
            self.license.map(BanTarget::License),
            self.user.map(BanTarget::User),
        ];
        keys.extend(exact.into_iter().flatten().map(|target| target.match_key()));
        keys
    }
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

    fn ip_ban(range: &str) -> String {
        BanTarget::Ip(IpBanRange::parse(range).unwrap()).match_key()
    }

    fn probe_of(ip: &str) -> Vec<String> {
        BanProbe {
            ip: Some(ClientIp::parse(ip).unwrap()),
            ..BanProbe::default()
        }
        .match_keys()
    }

    #[test]
    fn an_address_probes_one_key_per_prefix_length() {
        assert_eq!(probe_of("203.0.113.7").len(), 33);
        assert_eq!(probe_of("2001:db8::1").len(), 129);
    }

    #[test]
    fn overlapping_ranges_each_match_an_address_inside_both() {
        let keys = probe_of("10.1.2.3");
        for range in ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3"] {
            assert!(keys.contains(&ip_ban(range)), "{range}");
        }
        for range in ["10.1.3.0/24", "11.0.0.0/8", "10.1.2.4"] {
            assert!(!keys.contains(&ip_ban(range)), "{range}");
        }
    }

    #[test]
    fn the_whole_space_and_a_single_address_are_the_ends_of_the_probe() {
        let v4 = probe_of("192.0.2.1");
        assert_eq!(v4.first(), Some(&ip_ban("0.0.0.0/0")));
        assert_eq!(v4.last(), Some(&ip_ban("192.0.2.1/32")));
        let v6 = probe_of("2001:db8::1");
        assert_eq!(v6.first(), Some(&ip_ban("::/0")));
        assert_eq!(v6.last(), Some(&ip_ban("2001:db8::1/128")));
        assert!(v6.contains(&ip_ban("2001:db8::/32")));
        assert!(
            !v6.contains(&ip_ban("0.0.0.0/0")),
            "IPv4 ranges never hold IPv6"
        );
        assert!(!v4.contains(&ip_ban("::/0")), "IPv6 ranges never hold IPv4");
    }

    #[test]
    fn an_ipv4_mapped_address_and_range_are_their_ipv4_forms() {
        let keys = probe_of("::ffff:198.51.100.9");
        assert_eq!(keys, probe_of("198.51.100.9"));
        assert!(keys.contains(&ip_ban("::ffff:198.51.100.0/120")));
        assert_eq!(ip_ban("::ffff:198.51.100.9"), ip_ban("198.51.100.9/32"));
    }

    #[test]
    fn known_prefix_lengths_narrow_the_probe_to_the_ranges_of_those_lengths() {
        let lengths: IpPrefixLengths = ["10.0.0.0/8", "192.0.2.1", "2001:db8::/64", "::/0"]
            .iter()
            .map(|range| IpBanRange::parse(range).unwrap().prefix_length())
            .collect();
        let narrowed = |ip: &str| {
            BanProbe {
                ip: Some(ClientIp::parse(ip).unwrap()),
                ip_prefix_lengths: Some(lengths.clone()),
                ..BanProbe::default()
            }
            .match_keys()
        };
        assert_eq!(
            narrowed("10.1.2.3"),
            vec![ip_ban("10.0.0.0/8"), ip_ban("10.1.2.3")],
            "IPv4 /8 and /32 only; the IPv6 lengths are another family's"
        );
        assert_eq!(
            narrowed("::ffff:10.1.2.3"),
            narrowed("10.1.2.3"),
            "an IPv4-mapped address probes IPv4 lengths"
        );
        assert_eq!(
            narrowed("2001:db8::1"),
            vec![ip_ban("::/0"), ip_ban("2001:db8::/64")],
            "/0 and /64 of IPv6, not /128: no single IPv6 address is banned"
        );
        let every_key_is_a_full_probe_key = narrowed("2001:db8::1")
            .iter()
            .all(|key| probe_of("2001:db8::1").contains(key));
        assert!(every_key_is_a_full_probe_key);

        let none_banned = BanProbe {
            ip: Some(ClientIp::parse("10.1.2.3").unwrap()),
            ip_prefix_lengths: Some(IpPrefixLengths::new()),
            ..BanProbe::default()
        };
        assert!(none_banned.match_keys().is_empty());
    }

    #[test]
    fn each_identifier_probes_its_own_kind_only() {
        let hw = HardwareId::parse("1.2.3.4").unwrap();
        let keys = BanProbe {
            hardware_id: Some(hw.clone()),
            ..BanProbe::default()
        }
        .match_keys();
        assert_eq!(keys, vec![BanTarget::HardwareId(hw).match_key()]);
        assert!(!keys.contains(&ip_ban("1.2.3.4")));
    }

    #[test]
    fn a_value_filter_means_every_kind_it_parses_as() {
        let id = uuid::Uuid::now_v7();
        let kinds = |value: &str, kind| -> Vec<BanKind> {
            BanTarget::shown_as(kind, value)
                .iter()
                .map(BanTarget::kind)
                .collect()
        };
        assert_eq!(
            kinds("1.2.3.4", None),
            vec![BanKind::Ip, BanKind::HardwareId]
        );
        assert_eq!(
            kinds(&id.to_string(), None),
            vec![BanKind::HardwareId, BanKind::License, BanKind::User]
        );
        assert_eq!(kinds("1.2.3.4", Some(BanKind::User)), vec![]);
        assert_eq!(
            BanTarget::shown_as(Some(BanKind::Ip), "::ffff:1.2.3.4")[0].value(),
            "1.2.3.4"
        );
    }

    #[test]
    fn a_ban_stops_matching_at_the_instant_it_expires() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ban = |expires_at| Ban {
            id: BanId::generate(),
            target: BanTarget::User(UserId::generate()),
            reason: None,
            created_at: now,
            expires_at,
        };
        assert!(ban(None).is_active_at(now));
        assert!(ban(Some(now + chrono::Duration::microseconds(1))).is_active_at(now));
        assert!(!ban(Some(now)).is_active_at(now));
        assert!(!ban(Some(now - chrono::Duration::seconds(1))).is_active_at(now));
    }
}
