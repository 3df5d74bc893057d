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

    /// A 17-byte key that orders all addresses on one line: the family (4 or 6), then the
    /// address, IPv4 right-aligned. Ranges compare on it bytewise, which every database
    /// can do; the family byte keeps an IPv6 range from ever matching an IPv4 client.
    #[must_use]
    pub fn key(&self) -> [u8; 17] {
        let mut key = [0_u8; 17];
        match self.0 {
            IpAddr::V4(v4) => {
                key[0] = 4;
                key[13..].copy_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                key[0] = 6;
                key[1..].copy_from_slice(&v6.octets());
            }
        }
        key
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

    /// First and last key of the range, comparable with [`ClientIp::key`].
    #[must_use]
    pub fn bounds(&self) -> ([u8; 17], [u8; 17]) {
        (
            ClientIp::new(self.0.network()).key(),
            ClientIp::new(self.0.broadcast()).key(),
        )
    }

    #[must_use]
    pub fn contains(&self, ip: ClientIp) -> bool {
        self.0.contains(&ip.addr())
    }
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
    fn range_bounds_enclose_exactly_the_addresses_in_the_range() {
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
        ];
        for (range, ip, inside) in cases {
            let range = IpBanRange::parse(range).unwrap();
            let ip = ClientIp::parse(ip).unwrap();
            let (start, end) = range.bounds();
            let by_key = start <= ip.key() && ip.key() <= end;
            assert_eq!(by_key, inside, "{range} {ip}");
            assert_eq!(range.contains(ip), inside, "{range} {ip}");
        }
    }
}
