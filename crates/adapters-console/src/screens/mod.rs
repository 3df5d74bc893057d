//! One module per screen; each has a `configure` that adds its routes to the `/console`
//! scope. A new screen: a module here, its templates under `templates/`, one line below.

mod account;
mod applications;
mod audit;
mod bans;
mod files;
mod licenses;
mod login;
mod overview;
mod settings;
mod user;
mod users;
mod variables;
mod webhook_endpoint;
mod webhooks;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    login::configure(cfg);
    applications::configure(cfg);
    overview::configure(cfg);
    account::configure(cfg);
    bans::configure(cfg);
    settings::configure(cfg);
    variables::configure(cfg);
    audit::configure(cfg);
    webhooks::configure(cfg);
    files::configure(cfg);
    licenses::configure(cfg);
    users::configure(cfg);
}

/// Every form carries the CSRF token; screens flatten their own fields beside it.
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}
