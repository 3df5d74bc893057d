//! Every route, registered in one place.

pub mod admin;
pub mod integration;
pub mod operator;
pub mod service;
pub mod sign_in;
pub mod user_admin;

use crate::error::ApiError;
use actix_web::{HttpResponse, Resource, web};

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}

/// A resource whose other methods answer 405 in the contract's error format.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/livez").route(web::get().to(service::livez)))
        .service(resource("/readyz").route(web::get().to(service::readyz)))
        .service(resource("/api/openapi.json").route(web::get().to(service::openapi)))
        .service(resource("/api/integration/sign_up").route(web::post().to(integration::sign_up)))
        .service(
            resource("/api/integration/sign_up_with_license_code")
                .route(web::post().to(integration::sign_up_with_license_code)),
        )
        .service(resource("/api/integration/auth/login").route(web::post().to(sign_in::login)))
        .service(
            resource("/api/integration/activate_license")
                .route(web::post().to(sign_in::activate_license)),
        )
        .service(
            resource("/api/integration/app_context").route(web::get().to(sign_in::app_context)),
        )
        .service(
            resource("/api/operator/applications")
                .route(web::post().to(operator::create_application))
                .route(web::get().to(operator::list_applications)),
        )
        .service(
            resource("/api/operator/applications/{id}/rotate")
                .route(web::post().to(operator::rotate_secret)),
        )
        .service(
            resource("/api/operator/applications/{id}")
                .route(web::patch().to(operator::update_application)),
        )
        .service(resource("/api/admin/licenses").route(web::post().to(admin::create_licenses)))
        .service(resource("/api/admin/license/{code}").route(web::get().to(admin::get_license)))
        .service(
            resource("/api/admin/bans")
                .route(web::post().to(admin::create_ban))
                .route(web::get().to(admin::list_bans)),
        )
        .service(
            resource("/api/admin/settings")
                .route(web::get().to(admin::get_settings))
                .route(web::patch().to(admin::update_settings)),
        )
        .service(
            resource("/api/admin/adjust-membership-time")
                .route(web::post().to(user_admin::adjust_membership_time)),
        )
        .service(
            resource("/api/admin/lifetime-access")
                .route(web::post().to(user_admin::lifetime_access)),
        )
        .service(
            resource("/api/admin/reset-devices").route(web::post().to(user_admin::reset_devices)),
        )
        .service(resource("/api/admin/users").route(web::get().to(user_admin::list_users)))
        .service(
            resource("/api/admin/users/{id}/limits")
                .route(web::put().to(user_admin::set_user_limits)),
        )
        .service(resource("/api/admin/variables").route(web::get().to(user_admin::list_variables)))
        .service(
            resource("/api/admin/variables/{name}")
                .route(web::put().to(user_admin::set_variable))
                .route(web::delete().to(user_admin::delete_variable)),
        )
        .service(resource("/api/admin/bans/{id}").route(web::delete().to(admin::delete_ban)))
        .service(resource("/api/admin/user/{query}").route(web::get().to(admin::get_user)))
        .default_service(web::to(not_found));
}
