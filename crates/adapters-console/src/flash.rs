//! Flash messages: one line confirming an action, carried across the redirect in a
//! short-lived cookie and shown once (the page that shows it clears the cookie).

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::{HttpRequest, HttpResponse};

pub const FLASH_COOKIE: &str = "__Host-latchkey_flash";

/// A redirect (303, so the browser GETs the target) that shows `message` on arrival.
#[must_use]
pub fn redirect_with(location: &str, message: &str) -> HttpResponse {
    let value = data_encoding::BASE64URL_NOPAD.encode(message.as_bytes());
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_owned()))
        .cookie(
            Cookie::build(FLASH_COOKIE, value)
                .path("/")
                .secure(true)
                .http_only(true)
                .same_site(SameSite::Strict)
                .max_age(Duration::minutes(1))
                .finish(),
        )
        .finish()
}

/// The pending message, if any. The caller renders it and clears it with [`clear`].
#[must_use]
pub fn take(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(FLASH_COOKIE)?;
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(cookie.value().as_bytes())
        .ok()?;
    String::from_utf8(bytes)
        .ok()
        .map(|text| text.chars().take(300).collect())
}

/// Removes the flash cookie from the browser.
pub fn clear(response: &mut HttpResponse) {
    let mut cookie = Cookie::build(FLASH_COOKIE, "")
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    // Only a malformed cookie fails to add; the flash then shows again, which is harmless.
    let _ = response.add_cookie(&cookie);
}
