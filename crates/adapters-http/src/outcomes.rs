//! Counters of what the integration API did, for `/metrics`: sign-ups, redemptions,
//! sign-ins and ban hits by type.

use domain::ban::BanKind;

pub(crate) fn signed_up(method: &'static str) {
    metrics::counter!("latchkey_sign_ups_total", "method" => method).increment(1);
}

pub(crate) fn redeemed(via: &'static str) {
    metrics::counter!("latchkey_redemptions_total", "via" => via).increment(1);
}

pub(crate) fn signed_in(outcome: &'static str) {
    metrics::counter!("latchkey_logins_total", "outcome" => outcome).increment(1);
}

pub(crate) fn ban_hit(kind: BanKind) {
    metrics::counter!("latchkey_ban_hits_total", "type" => kind.as_str()).increment(1);
}
