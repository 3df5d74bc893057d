//! Client addresses and banned ranges, canonicalised so one address has one form.

use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;
use thiserror::Error;

/// The client's address, with IPv4-mapped IPv6 addresses turned into IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(IpAddr);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IpError {
    #[error("must be an IPv4 or IPv6 address, or a CIDR range")]
    Malformed,
}

impl ClientIp {
    #[must_use]
    pub fn new(addr: IpAddr) -> Self {
        Self(addr.to_canonical())
    }

    /// # Errors
    /// [`IpError::Malformed`] when the text is not an address.
    pub fn parse(raw: &str) -> Result<Self, IpError> {
        raw.trim()
            .parse::<IpAddr>()
            .map(Self::new)
            .map_err(|_| IpError::Malformed)
    }

    #[must_use]
    pub const fn addr(&self) -> IpAddr {
        self.0
    }
}

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A banned address or CIDR range, with host bits cleared and IPv4-mapped ranges as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpBanRange(IpNet);

impl IpBanRange {
    /// Accepts `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`, `::ffff:10.0.0.0/104`.
    ///
    /// # Errors
    /// [`IpError::Malformed`] when the text is neither an address nor a range.
    pub fn parse(raw: &str) -> Result<Self, IpError> {
        let raw = raw.trim();
        let net = match raw.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => IpNet::from(raw.parse::<IpAddr>().map_err(|_| IpError::Malformed)?),
        };
        Ok(Self(canonical_net(net).trunc()))
    }

    /// The first address of the range.
    #[must_use]
    pub fn first(&self) -> ClientIp {
        ClientIp::new(self.0.network())
    }

    /// The range holding exactly one address.
    #[must_use]
    pub fn single(ip: ClientIp) -> Self {
        Self(IpNet::from(ip.addr()))
    }

    /// The network an address is counted and cross-banned by: the address itself for IPv4,
    /// its `/ipv6_prefix` for IPv6 (one subscriber gets a whole `/64`, so a `/128` is no
    /// identity). A prefix above 128 counts single addresses.
    #[must_use]
    pub fn network_of(ip: ClientIp, ipv6_prefix: u8) -> Self {
        match ip.addr() {
            IpAddr::V4(_) => Self::single(ip),
            IpAddr::V6(addr) => IpNet::new(IpAddr::V6(addr), ipv6_prefix.min(128))
                .map_or_else(|_| Self::single(ip), |net| Self(net.trunc())),
        }
    }

    #[must_use]
    pub fn contains(&self, ip: ClientIp) -> bool {
        self.0.contains(&ip.addr())
    }

    /// Every range that holds `ip`: its prefixes from `/0` to the address itself, 33 for
    /// IPv4 and 129 for IPv6, in the canonical form [`IpBanRange::parse`] gives them.
    pub fn holding(ip: ClientIp) -> impl Iterator<Item = Self> {
        let addr = ip.addr();
        let max = IpNet::from(addr).max_prefix_len();
        (0..=max).filter_map(move |len| {
            IpNet::new(addr, len)
                .ok()
                .map(|net| Self(canonical_net(net.trunc())))
        })
    }

    /// The range's family and prefix length: `/24` of IPv4 for `203.0.113.0/24`.
    #[must_use]
    pub fn prefix_length(&self) -> PrefixLength {
        PrefixLength {
            ipv6: matches!(self.0, IpNet::V6(_)),
            len: self.0.prefix_len(),
        }
    }

    /// The range with its prefix length, also for one address: `203.0.113.7/32`.
    #[must_use]
    pub fn prefix(&self) -> String {
        self.0.to_string()
    }
}

/// An address family and a prefix length in it: `/24` of IPv4, `/64` of IPv6. A ban check
/// needs only the prefixes of the lengths an application's IP bans use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrefixLength {
    pub ipv6: bool,
    /// 0 to 32 for IPv4, 0 to 128 for IPv6.
    pub len: u8,
}

impl fmt::Display for IpBanRange {
    /// A single address prints without its prefix length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.prefix_len() == self.0.max_prefix_len() {
            self.0.addr().fmt(f)
        } else {
            self.0.fmt(f)
        }
    }
}

fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(net) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(net);
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn an_ipv4_mapped_client_address_becomes_ipv4() {
        let ip = ClientIp::parse("::ffff:203.0.113.7").unwrap();
        assert_eq!(ip.to_string(), "203.0.113.7");
        assert_eq!(ip, ClientIp::parse("203.0.113.7").unwrap());
    }

    #[test]
    fn ban_ranges_are_canonicalised() {
        let cases = [
            ("203.0.113.7", "203.0.113.7"),
            ("203.0.113.7/24", "203.0.113.0/24"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("::ffff:203.0.113.0/120", "203.0.113.0/24"),
            ("2001:DB8::1/32", "2001:db8::/32"),
            (" 2001:db8::1 ", "2001:db8::1"),
        ];
        for (raw, canonical) in cases {
            assert_eq!(
                IpBanRange::parse(raw).unwrap().to_string(),
                canonical,
                "{raw}"
            );
        }
    }

    #[test]
    fn malformed_ranges_are_rejected() {
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4/33",
            "2001:db8::/129",
            "example.com",
            "1.2.3.4/",
        ] {
            assert_eq!(IpBanRange::parse(bad), Err(IpError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_range_holds_exactly_its_addresses_and_no_address_of_the_other_family() {
        let cases = [
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::", false),
            ("2001:db8::/32", "10.0.0.1", false),
            ("::/64", "10.0.0.1", false),
            ("10.0.0.0/8", "::a00:1", false),
            ("192.0.2.1", "192.0.2.1", true),
            ("192.0.2.1", "192.0.2.2", false),
            // an IPv6 range whose last address is IPv4-mapped still holds its IPv6 addresses
            ("::/80", "::1", true),
            ("::fffe:0:0/95", "::fffe:0:1", true),
            ("::/80", "10.0.0.1", false),
        ];
        for (range, ip, inside) in cases {
            let range = IpBanRange::parse(range).unwrap();
            let ip = ClientIp::parse(ip).unwrap();
            let held = IpBanRange::holding(ip).any(|held| held == range);
            assert_eq!(held, inside, "{range} {ip}");
            assert_eq!(range.contains(ip), inside, "{range} {ip}");
        }
    }

    /// Any IPv4 address, biased towards the ends of the space.
    fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
        prop_oneof![any::<u32>(), 0_u32..=0xff, 0xffff_ff00_u32..=u32::MAX,]
            .prop_map(Ipv4Addr::from)
    }

    /// Any IPv6 address, biased towards the corners where IPv4 hides: `::a.b.c.d`,
    /// `::ffff:a.b.c.d` and their neighbours, and the ends of the space.
    fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
        prop_oneof![
            any::<u128>(),
            any::<u32>().prop_map(u128::from),
            any::<u32>().prop_map(|v4| 0xffff_0000_0000 | u128::from(v4)),
            (0xfffe_u128..=0x1_0000, any::<u32>()).prop_map(|(hi, v4)| (hi << 32) | u128::from(v4)),
            (0_u32..=128, any::<u128>()).prop_map(|(bits, noise)| {
                // A run of ones or zeros at the top, then noise: near the ends and boundaries.
                noise.checked_shr(bits).unwrap_or(0)
                    | (!0_u128).checked_shl(128 - bits).unwrap_or(0)
            }),
        ]
        .prop_map(Ipv6Addr::from)
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![ipv4().prop_map(IpAddr::V4), ipv6().prop_map(IpAddr::V6)]
    }

    /// A range as an operator would type it: an address and, usually, a prefix length.
    fn range_text() -> impl Strategy<Value = String> {
        prop_oneof![
            (ipv4(), 0_u8..=32).prop_map(|(addr, len)| format!("{addr}/{len}")),
            (ipv6(), 0_u8..=128).prop_map(|(addr, len)| format!("{addr}/{len}")),
            any_ip().prop_map(|addr| addr.to_string()),
        ]
    }

    /// A range and an address that is often inside it: the range's own address with some
    /// of its low bits replaced.
    fn range_and_nearby_ip() -> impl Strategy<Value = (IpBanRange, ClientIp)> {
        (range_text(), any_ip(), any::<u128>(), any::<bool>()).prop_map(
            |(text, far, noise, near)| {
                let range = IpBanRange::parse(&text).unwrap();
                let ip = if near {
                    let host_bits = u32::from(range.0.max_prefix_len() - range.0.prefix_len());
                    let mask = (!0_u128).checked_shr(128 - host_bits).unwrap_or(0);
                    match range.0.network() {
                        IpAddr::V4(v4) => {
                            let bits = u128::from(v4.to_bits()) | (noise & mask);
                            IpAddr::V4(Ipv4Addr::from(u32::try_from(bits).unwrap()))
                        }
                        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() | (noise & mask))),
                    }
                } else {
                    far
                };
                (range, ClientIp::new(ip))
            },
        )
    }

    proptest! {
        #[test]
        fn parsing_a_range_never_panics(s in "\\PC*|.*|[0-9a-fA-F:./ ]{0,50}") {
            let _ = IpBanRange::parse(&s);
        }

        #[test]
        fn parsing_an_address_never_panics(s in "\\PC*|.*|[0-9a-fA-F:./ ]{0,50}") {
            let _ = ClientIp::parse(&s);
        }

        #[test]
        fn the_ranges_holding_an_address_are_exactly_those_that_contain_it(
            (range, ip) in range_and_nearby_ip()
        ) {
            let holding = IpBanRange::holding(ip).any(|held| held == range);
            prop_assert_eq!(holding, range.contains(ip), "range {} ip {}", range, ip);
        }

        #[test]
        fn a_range_reads_back_from_its_display_form(text in range_text()) {
            let range = IpBanRange::parse(&text).unwrap();
            prop_assert_eq!(IpBanRange::parse(&range.to_string()), Ok(range));
        }

        #[test]
        fn an_ipv4_mapped_address_is_the_same_client_as_the_ipv4_address(v4 in ipv4()) {
            let mapped = v4.to_ipv6_mapped().to_string();
            prop_assert_eq!(ClientIp::parse(&mapped), ClientIp::parse(&v4.to_string()));
            prop_assert_eq!(ClientIp::parse(&mapped), Ok(ClientIp::new(IpAddr::V4(v4))));
        }
    }
}
