//! The client's address: the TCP peer, unless the peer is a trusted proxy; then
//! `X-Forwarded-For` is walked from the right past trusted proxies. Never the leftmost
//! entry, which the client writes itself. Anything malformed falls back to the peer.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::HeaderName;
use actix_web::{FromRequest, HttpRequest, web};
use domain::values::ClientIp;
use ipnet::IpNet;
use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv4Addr};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    #[must_use]
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    /// Parses a comma-separated list of addresses and CIDR ranges.
    ///
    /// # Errors
    /// The first entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an address or CIDR range: {entry:?}"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `peer` carrying these `X-Forwarded-For` values.
    #[must_use]
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: &[&str]) -> ClientIp {
        let peer = ClientIp::new(peer);
        if !self.trusts(peer.addr()) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .rev()
        {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                return peer;
            };
            client = ClientIp::new(ip);
            if !self.trusts(client.addr()) {
                return client;
            }
        }
        client
    }
}

/// Extracts the request's [`ClientIp`].
pub struct ClientAddress(pub ClientIp);

impl FromRequest for ClientAddress {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(client_ip(req))))
    }
}

/// The request's client address (see the module's rules).
pub(crate) fn client_ip(req: &HttpRequest) -> ClientIp {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
    let headers: Vec<&str> = req
        .headers()
        .get_all(&X_FORWARDED_FOR)
        .map(|value| value.to_str().unwrap_or("\u{0}"))
        .collect();
    match req.app_data::<web::Data<TrustedProxies>>() {
        Some(trusted) => trusted.client_ip(peer, &headers),
        None => ClientIp::new(peer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    #[test]
    fn the_client_ip_is_found_by_walking_from_the_right() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        let cases: &[(&str, &[&str], &str)] = &[
            // untrusted peer: headers ignored
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            // trusted peer, one hop
            ("10.0.0.1", &["198.51.100.1"], "198.51.100.1"),
            // spoofed leftmost entry is skipped: the rightmost untrusted one wins
            ("10.0.0.1", &["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
            // trusted hops are skipped
            (
                "10.0.0.1",
                &["198.51.100.1, 10.1.1.1, 192.0.2.1"],
                "198.51.100.1",
            ),
            // several headers are joined in order
            (
                "10.0.0.1",
                &["6.6.6.6", "198.51.100.2, 10.2.2.2"],
                "198.51.100.2",
            ),
            // malformed → the peer
            ("10.0.0.1", &["198.51.100.1, garbage"], "10.0.0.1"),
            ("10.0.0.1", &[""], "10.0.0.1"),
            ("10.0.0.1", &["198.51.100.1:8080"], "10.0.0.1"),
            // no header → the peer
            ("10.0.0.1", &[], "10.0.0.1"),
            // every entry trusted → the furthest one
            ("10.0.0.1", &["10.3.3.3, 10.4.4.4"], "10.3.3.3"),
            // IPv6 and IPv4-mapped addresses
            ("10.0.0.1", &["2001:db8::1"], "2001:db8::1"),
            ("::ffff:10.0.0.1", &["::ffff:198.51.100.7"], "198.51.100.7"),
        ];
        for (peer, headers, expected) in cases {
            let ip = trusted.client_ip(peer.parse().unwrap(), headers);
            assert_eq!(ip.to_string(), *expected, "peer {peer} headers {headers:?}");
        }
    }

    #[test]
    fn with_no_trusted_proxies_the_peer_is_the_client() {
        let ip = TrustedProxies::default().client_ip("10.0.0.1".parse().unwrap(), &["1.2.3.4"]);
        assert_eq!(ip.to_string(), "10.0.0.1");
    }

    #[test]
    fn a_bad_proxy_list_is_rejected() {
        assert!(TrustedProxies::parse("10.0.0.0/8, nope").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }

    /// Addresses from a small pool, so peers, proxies and header entries often coincide,
    /// plus anything at all; IPv4, IPv6 and IPv4-mapped.
    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            (0_u8..4).prop_map(|last| IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))),
            (0_u8..4).prop_map(|last| IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))),
            (0_u16..4)
                .prop_map(|last| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))),
            (0_u8..4).prop_map(|last| IpAddr::V6(Ipv4Addr::new(10, 0, 0, last).to_ipv6_mapped())),
            any::<IpAddr>(),
        ]
    }

    fn network() -> impl Strategy<Value = IpNet> {
        (ip(), 0_u8..=128).prop_map(|(addr, len)| {
            let len = len.min(if addr.is_ipv4() { 32 } else { 128 });
            IpNet::new(addr, len).unwrap_or_else(|_| IpNet::from(addr))
        })
    }

    fn trusted() -> impl Strategy<Value = TrustedProxies> {
        prop::collection::vec(network(), 0..4).prop_map(TrustedProxies::new)
    }

    /// One header entry: an address, in any of the ways one can be written, or junk.
    fn entry() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => ip().prop_map(|ip| ip.to_string()),
            1 => ip().prop_map(|ip| format!("  {ip} ")),
            1 => ip().prop_map(|ip| format!("{ip}:8080")),
            1 => "[0-9a-f:.\\[\\] ]{0,12}",
            1 => "\\PC{0,8}",
        ]
    }

    /// `X-Forwarded-For` values: comma-separated entries, or arbitrary text.
    fn headers() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop_oneof![
                4 => prop::collection::vec(entry(), 0..5).prop_map(|entries| entries.join(",")),
                1 => ".*",
            ],
            0..4,
        )
    }

    /// Every address written in the headers, as the extractor would read it.
    fn addresses_in(headers: &[&str]) -> Vec<ClientIp> {
        headers
            .iter()
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .map(ClientIp::new)
            .collect()
    }

    proptest! {
        #[test]
        fn finding_the_client_never_panics(
            trusted in trusted(),
            peer in ip(),
            headers in prop::collection::vec(".*", 0..4),
        ) {
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let _ = trusted.client_ip(peer, &headers);
        }

        #[test]
        fn an_untrusted_peer_is_the_client_whatever_its_headers_say(
            networks in prop::collection::vec(network(), 0..4),
            peer in ip(),
            headers in headers(),
        ) {
            let trusted = TrustedProxies::new(
                networks.into_iter().filter(|net| !net.contains(&peer.to_canonical())).collect(),
            );
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            prop_assert_eq!(trusted.client_ip(peer, &headers), ClientIp::new(peer));
        }

        #[test]
        fn the_client_is_the_peer_or_an_address_from_the_headers(
            trusted in trusted(),
            peer in ip(),
            headers in headers(),
        ) {
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let client = trusted.client_ip(peer, &headers);
            prop_assert!(
                client == ClientIp::new(peer) || addresses_in(&headers).contains(&client),
                "{} is neither the peer {} nor in {:?}", client, peer, headers
            );
        }

        #[test]
        fn parsing_a_proxy_list_never_panics(list in "\\PC*|.*|[0-9a-f:./, ]{0,60}") {
            let _ = TrustedProxies::parse(&list);
        }

        #[test]
        fn a_proxy_list_reads_back_from_its_entries(networks in prop::collection::vec(network(), 0..4)) {
            let list = networks.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let parsed = TrustedProxies::parse(&list).unwrap();
            prop_assert_eq!(parsed.0, networks);
        }
    }
}
