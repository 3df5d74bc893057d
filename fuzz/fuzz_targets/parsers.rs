//! One input, every parser that reads text from the outside world: no panics, and the
//! properties the rest of the code relies on hold for whatever was accepted.
//!
//! The input is read as UTF-8 (lossily). Whole, it goes to each value parser; split into
//! lines, it is a trusted-proxy list, a peer address and `X-Forwarded-For` values.

#![no_main]

use adapters_http::TrustedProxies;
use domain::values::{ClientIp, HardwareId, IpBanRange, LicenseCode, Password, Username};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let lines: Vec<&str> = input.split('\n').collect();

    username(&input);
    license_code(&input);
    let _ = HardwareId::parse(&input);
    let _ = Password::parse(&input);
    for line in lines.iter().take(4) {
        address(line);
    }
    range_against_address(lines[0], lines.get(1).copied().unwrap_or_default());
    forwarded_for(&lines);
});

/// A valid username reads back as itself, and its canonical form is stable.
fn username(input: &str) {
    let Ok(name) = Username::parse(input) else {
        return;
    };
    assert_eq!(Username::parse(name.as_str()).as_ref(), Ok(&name));
    if let Ok(again) = Username::parse(name.canonical()) {
        assert_eq!(again.canonical(), name.canonical());
    }
}

/// A code reads back from the form shown to people.
fn license_code(input: &str) {
    let Ok(code) = LicenseCode::parse(input) else {
        return;
    };
    let shown = code.formatted();
    assert_eq!(
        LicenseCode::parse(&shown).as_ref(),
        Ok(&code),
        "the shown form {shown:?} does not read back"
    );
}

/// Addresses and ranges read back from their printed form.
fn address(line: &str) {
    if let Ok(ip) = ClientIp::parse(line) {
        assert_eq!(ClientIp::parse(&ip.to_string()), Ok(ip));
    }
    if let Ok(range) = IpBanRange::parse(line) {
        assert_eq!(IpBanRange::parse(&range.to_string()), Ok(range));
    }
}

/// What the store matches (the ban's key among the address's prefixes) is what `contains`
/// says.
fn range_against_address(range: &str, ip: &str) {
    let (Ok(range), Ok(ip)) = (IpBanRange::parse(range), ClientIp::parse(ip)) else {
        return;
    };
    let held = IpBanRange::holding(ip).any(|held| held == range);
    assert_eq!(range.contains(ip), held, "range {range} ip {ip}");
}

/// Line 1: a trusted-proxy list; line 2: the peer; the rest: `X-Forwarded-For` values.
/// The same values are also tried from a fixed trusted peer.
fn forwarded_for(lines: &[&str]) {
    let fixed = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1, ::1, fd00::/8").unwrap_or_default();
    let fixed_peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    check_client(&fixed, fixed_peer, lines);

    let Ok(trusted) = TrustedProxies::parse(lines[0]) else {
        return;
    };
    let Some(peer) = lines.get(1).and_then(|line| ClientIp::parse(line).ok()) else {
        return;
    };
    check_client(&trusted, peer.addr(), &lines[2..]);
}

/// The client is the peer or an address written in the headers, never anything else.
fn check_client(trusted: &TrustedProxies, peer: IpAddr, headers: &[&str]) {
    let client = trusted.client_ip(peer, headers);
    let written = headers
        .iter()
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .map(ClientIp::new);
    let mut candidates = std::iter::once(ClientIp::new(peer)).chain(written);
    assert!(
        candidates.any(|candidate| candidate == client),
        "{client} is neither the peer {peer} nor in {headers:?}"
    );
}
