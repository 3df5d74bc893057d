//! Cross-site request forgery: every POST carries a token in a hidden `csrf` field, compared
//! in constant time, **and** comes from this origin (`Origin`, or `Referer` when a browser
//! sends no `Origin`). SameSite=Strict cookies already stop most forgeries; these are the
//! belt and braces the security model asks for.
//!
//! - Signed in (or half-way, at the second factor): the token is derived from the session
//!   token, so it is per session, needs no storage, and changes at every sign-in.
//! - Before sign-in: a random token in its own `__Host-` cookie, which the form repeats
//!   (double submit).

use crate::page::ConsoleError;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use domain::operator_account::ConsoleToken;
use sha2_compat::sha256_hex;
use subtle::ConstantTimeEq;

/// The pre-session cookie of the sign-in form.
pub const LOGIN_CSRF_COOKIE: &str = "__Host-latchkey_login_csrf";

/// The CSRF token of a session.
#[must_use]
pub fn session_token(session: &ConsoleToken) -> String {
    sha256_hex(&format!("console-csrf:{}", session.expose()))
}

/// A fresh random pre-session token.
#[must_use]
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    data_encoding::HEXLOWER.encode(&bytes)
}

/// The pre-session cookie carrying `token`.
#[must_use]
pub fn login_cookie(token: &str) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, token.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

/// Refuses a POST whose `submitted` token is not `expected`, or that comes from elsewhere.
///
/// # Errors
/// [`ConsoleError::Forbidden`] with what to do.
pub fn verify(req: &HttpRequest, expected: &str, submitted: &str) -> Result<(), ConsoleError> {
    check_origin(req)?;
    let same = !expected.is_empty()
        && expected.len() == submitted.len()
        && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()));
    if same {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "This form has expired or did not come from this console. Go back, reload the page and submit it again.",
        ))
    }
}

/// The request's `Origin` (or, without one, its `Referer`) names this host.
///
/// # Errors
/// [`ConsoleError::Forbidden`] for a foreign origin, or when neither header is sent.
pub fn check_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let foreign = ConsoleError::Forbidden(
        "This form was sent from another site, so it was refused. Open the console directly and try again.",
    );
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase);
    let claimed = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| url::Url::parse(value).ok());
    let (Some(host), Some(claimed)) = (host, claimed) else {
        return Err(foreign);
    };
    let Some(claimed_host) = claimed.host_str() else {
        return Err(foreign);
    };
    // `Host` omits the default port, as does a URL's authority.
    let authority = match claimed.port() {
        Some(port) => format!("{claimed_host}:{port}"),
        None => claimed_host.to_owned(),
    };
    if authority.to_ascii_lowercase() == host {
        Ok(())
    } else {
        Err(foreign)
    }
}

/// SHA-256 in hex, without a direct `sha2` dependency of this crate: the domain's digest.
mod sha2_compat {
    pub fn sha256_hex(text: &str) -> String {
        data_encoding::HEXLOWER.encode(domain::values::Digest::of(text).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::test::TestRequest;

    fn request(headers: &[(&str, &str)]) -> HttpRequest {
        let mut request = TestRequest::post().insert_header(("host", "console.example:8080"));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        request.to_http_request()
    }

    #[test]
    fn the_same_origin_passes_and_another_host_or_port_does_not() {
        assert!(check_origin(&request(&[("origin", "http://console.example:8080")])).is_ok());
        assert!(check_origin(&request(&[("origin", "https://evil.example")])).is_err());
        assert!(check_origin(&request(&[("origin", "http://console.example:9090")])).is_err());
        assert!(check_origin(&request(&[("origin", "null")])).is_err());
    }

    #[test]
    fn without_origin_the_referer_decides_and_without_either_it_is_refused() {
        let same = [("referer", "http://console.example:8080/console/login")];
        assert!(check_origin(&request(&same)).is_ok());
        let foreign = [("referer", "https://evil.example/page")];
        assert!(check_origin(&request(&foreign)).is_err());
        assert!(check_origin(&request(&[])).is_err());
    }

    #[test]
    fn a_token_must_match_exactly_and_an_empty_expectation_matches_nothing() {
        let ok = [("origin", "http://console.example:8080")];
        assert!(verify(&request(&ok), "abc", "abc").is_ok());
        assert!(verify(&request(&ok), "abc", "abd").is_err());
        assert!(verify(&request(&ok), "abc", "ab").is_err());
        assert!(verify(&request(&ok), "", "").is_err());
    }
}
