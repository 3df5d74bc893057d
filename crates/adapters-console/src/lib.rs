//! The vendor console: server-rendered HTML pages at `/console`, over the same domain
//! services as the admin API. This crate owns templates, forms, the session cookie, CSRF and
//! security headers; no SQL and no business rule lives here.
//!
//! Layout (one module per screen, under `screens/`):
//! - [`state`]: what the server hands the console ([`ConsoleState`]);
//! - [`auth`]: the session cookie and the [`auth::SignedIn`] extractor (with role checks);
//! - [`csrf`]: CSRF tokens and the `Origin` check every POST passes;
//! - [`flash`]: one-shot messages shown after a redirect;
//! - [`page`]: the shared layout data and rendering, [`page::ConsoleError`] (error pages);
//! - `screens::*`: one module per screen, each with a `configure` for its routes.

pub mod auth;
mod chart;
pub mod confirm;
pub mod csrf;
pub mod flash;
pub mod page;
mod screens;
pub mod state;

pub use state::ConsoleState;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

/// The stylesheet, hand-written and served by the console itself (so the CSP stays `'self'`).
const STYLESHEET: &str = include_str!("../static/console.css");

impl ConsoleState {
    /// Mounts the console under `/console`: used by the server and by tests alike.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.service(
            web::scope("/console")
                .app_data(web::Data::new(self.clone()))
                .app_data(page::form_config())
                .wrap(security_headers())
                .route("/static/console.css", web::get().to(stylesheet))
                .configure(screens::configure),
        );
    }
}

/// Sent with every console answer, error pages included.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

async fn stylesheet() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLESHEET)
}
