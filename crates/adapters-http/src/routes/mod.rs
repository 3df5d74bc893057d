//! Every route, registered in one place.

pub mod admin;
pub mod audit;
pub mod files;
pub mod integration;
pub mod operator;
pub mod service;
pub mod sign_in;
pub mod user_admin;
pub mod user_variables;
pub mod webhooks;

use crate::error::ApiError;
use crate::signing::sign_answers;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};

async fn method_not_allowed(allow: String) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed { allow })
}

/// The answer to a delete: `204`, or `404` naming `what` when there was nothing to delete.
pub(crate) fn deleted(deleted: bool, what: &'static str) -> Result<HttpResponse, ApiError> {
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(what))
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}

/// A resource and its routes, `method => handler`; any other method answers 405 in the
/// contract's error format, with an `Allow` header naming these methods.
macro_rules! resource {
    ($path:expr, $($method:ident => $handler:expr),+ $(,)?) => {{
        let allow = [$(stringify!($method).to_uppercase()),+].join(", ");
        web::resource($path)
            $(.route(web::$method().to($handler)))+
            .default_service(web::to(move || method_not_allowed(allow.clone())))
    }};
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource!("/livez", get => service::livez))
        .service(resource!("/readyz", get => service::readyz))
        .service(resource!("/api/openapi.json", get => service::openapi))
        .service(
            // Every answer under /api/integration is signed for the application it names.
            web::scope("/api/integration")
                .wrap(from_fn(sign_answers))
                .service(resource!("/sign_up", post => integration::sign_up))
                .service(resource!(
                    "/sign_up_with_license_code",
                    post => integration::sign_up_with_license_code,
                ))
                .service(resource!("/auth/login", post => sign_in::login))
                .service(resource!("/activate_license", post => sign_in::activate_license))
                .service(resource!("/app_context", get => sign_in::app_context))
                .service(resource!("/files/{id}/download", get => files::download))
                .service(resource!("/user/variables", get => user_variables::list_own))
                .service(resource!(
                    "/user/variables/{name}",
                    put => user_variables::set_own,
                    delete => user_variables::delete_own,
                ))
                .default_service(web::to(not_found)),
        )
        .service(resource!(
            "/api/operator/applications",
            post => operator::create_application,
            get => operator::list_applications,
        ))
        .service(resource!(
            "/api/operator/applications/{id}/rotate",
            post => operator::rotate_secret,
        ))
        .service(
            resource!("/api/operator/applications/{id}", patch => operator::update_application),
        )
        .service(resource!(
            "/api/admin/licenses",
            post => admin::create_licenses,
            get => admin::list_licenses,
        ))
        .service(resource!("/api/admin/license/{code}", get => admin::get_license))
        .service(resource!("/api/admin/bans", post => admin::create_ban, get => admin::list_bans))
        .service(resource!("/api/admin/audit", get => audit::list_audit))
        .service(resource!("/api/admin/audit/export", get => audit::export_audit))
        .service(resource!(
            "/api/admin/settings",
            get => admin::get_settings,
            patch => admin::update_settings,
        ))
        .service(resource!(
            "/api/admin/adjust-membership-time",
            post => user_admin::adjust_membership_time,
        ))
        .service(resource!("/api/admin/lifetime-access", post => user_admin::lifetime_access))
        .service(resource!("/api/admin/reset-devices", post => user_admin::reset_devices))
        .service(resource!("/api/admin/users", get => user_admin::list_users))
        .service(resource!("/api/admin/users/{id}/limits", put => user_admin::set_user_limits))
        .service(resource!("/api/admin/users/{id}/variables", get => user_variables::list))
        .service(resource!(
            "/api/admin/users/{id}/variables/{name}",
            put => user_variables::set,
            delete => user_variables::delete,
        ))
        .service(resource!("/api/admin/variables", get => user_admin::list_variables))
        .service(resource!(
            "/api/admin/variables/{name}",
            put => user_admin::set_variable,
            delete => user_admin::delete_variable,
        ))
        .service(resource!(
            "/api/admin/webhooks",
            post => webhooks::create_webhook,
            get => webhooks::list_webhooks,
        ))
        .service(resource!(
            "/api/admin/webhooks/{id}",
            get => webhooks::get_webhook,
            patch => webhooks::update_webhook,
            delete => webhooks::delete_webhook,
        ))
        .service(resource!(
            "/api/admin/webhooks/{id}/rotate-secret",
            post => webhooks::rotate_webhook_secret,
        ))
        .service(resource!(
            "/api/admin/webhooks/{id}/deliveries",
            get => webhooks::list_webhook_deliveries,
        ))
        .service(resource!(
            "/api/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post => webhooks::redeliver_webhook,
        ))
        .service(resource!("/api/admin/webhooks/{id}/test", post => webhooks::test_webhook))
        .service(resource!(
            "/api/admin/files",
            post => files::upload_file,
            get => files::list_files,
        ))
        .service(resource!("/api/admin/files/by-name/{name}", put => files::replace_file))
        .service(resource!(
            "/api/admin/files/{id}",
            get => files::get_file,
            delete => files::delete_file,
        ))
        .service(resource!("/api/admin/files/{id}/download", get => files::admin_download))
        .service(resource!("/api/admin/bans/{id}", delete => admin::delete_ban))
        .service(resource!("/api/admin/user/{query}", get => admin::get_user))
        .default_service(web::to(not_found));
}
