//! Latchkey's HTTP adapter (actix-web): routes, extractors, DTOs, errors and OpenAPI.
//!
//! Handlers receive the domain's service traits, so tests can mock them; [`HttpState`]
//! registers everything on an `App`, for the server and for tests alike.

mod auth;
mod caller;
mod client_ip;
mod dto;
mod dto_audit;
mod dto_bans;
mod dto_files;
mod dto_licenses;
mod dto_sign_in;
mod dto_user_admin;
mod dto_webhooks;
mod error;
mod json;
mod openapi;
mod origin;
mod outcomes;
mod pages;
mod request_log;
mod request_signing;
mod routes;
mod signing;
mod throttle;

pub use auth::OperatorToken;
pub use client_ip::TrustedProxies;
pub use dto::CreatedApplicationResponse;
pub use dto_audit::AuditEventResponse;
pub use error::{ApiError, ErrorBody};
pub use json::MAX_BODY_BYTES;
pub use openapi::ApiDoc;
pub use request_log::log_request;

use actix_web::web;
use domain::ports::{RateLimiter, Readiness};
use domain::services::{
    AdminApi, FilesApi, IntegrationApi, OperatorApi, RequestSigning, ResponseSigning, SignInApi,
    UserAdminApi, WebhookApi,
};
use std::sync::Arc;

/// What the routes need.
#[derive(Clone)]
pub struct HttpState {
    pub integration: Arc<dyn IntegrationApi>,
    pub sign_in: Arc<dyn SignInApi>,
    pub admin: Arc<dyn AdminApi>,
    pub user_admin: Arc<dyn UserAdminApi>,
    pub webhooks: Arc<dyn WebhookApi>,
    pub files: Arc<dyn FilesApi>,
    pub operator: Arc<dyn OperatorApi>,
    pub response_signing: Arc<dyn ResponseSigning>,
    pub request_signing: Arc<dyn RequestSigning>,
    pub readiness: Arc<dyn Readiness>,
    pub limiter: Arc<dyn RateLimiter>,
    /// `None` turns the operator API off (404).
    pub operator_token: Option<OperatorToken>,
    pub trusted_proxies: TrustedProxies,
}

impl HttpState {
    /// Registers the state and every route: `App::new().configure(|cfg| state.configure(cfg))`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::from(self.integration.clone()))
            .app_data(web::Data::from(self.sign_in.clone()))
            .app_data(web::Data::from(self.admin.clone()))
            .app_data(web::Data::from(self.user_admin.clone()))
            .app_data(web::Data::from(self.webhooks.clone()))
            .app_data(web::Data::from(self.files.clone()))
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                ApiError::Validation {
                    field: None,
                    detail: error.to_string(),
                }
                .into()
            }))
            .app_data(web::Data::from(self.operator.clone()))
            .app_data(web::Data::from(self.response_signing.clone()))
            .app_data(web::Data::from(self.request_signing.clone()))
            .app_data(web::Data::from(self.readiness.clone()))
            .app_data(web::Data::from(self.limiter.clone()))
            .app_data(web::Data::new(self.trusted_proxies.clone()))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError::NotFound("resource").into()),
            );
        if let Some(token) = &self.operator_token {
            cfg.app_data(web::Data::new(token.clone()));
        }
        routes::configure(cfg);
    }
}
