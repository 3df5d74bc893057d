//! The OpenAPI 3.1 document, generated from the handlers and DTOs so it cannot drift.

use crate::routes::{
    admin, audit, files, integration, operator, service, sign_in, user_admin, user_variables,
    webhooks,
};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-hosted licensing and user authentication, speaking Authgate's integration wire format."
    ),
    paths(
        integration::sign_up,
        integration::sign_up_with_license_code,
        sign_in::login,
        sign_in::activate_license,
        sign_in::app_context,
        user_variables::list_own,
        user_variables::set_own,
        user_variables::delete_own,
        user_variables::list,
        user_variables::set,
        user_variables::delete,
        operator::create_application,
        operator::list_applications,
        operator::update_application,
        operator::rotate_secret,
        admin::create_licenses,
        admin::list_licenses,
        admin::get_license,
        admin::create_ban,
        admin::list_bans,
        admin::delete_ban,
        audit::list_audit,
        audit::export_audit,
        webhooks::create_webhook,
        webhooks::list_webhooks,
        webhooks::get_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::rotate_webhook_secret,
        webhooks::list_webhook_deliveries,
        webhooks::redeliver_webhook,
        webhooks::test_webhook,
        files::upload_file,
        files::list_files,
        files::replace_file,
        files::get_file,
        files::delete_file,
        files::admin_download,
        files::download,
        admin::get_settings,
        user_admin::adjust_membership_time,
        user_admin::lifetime_access,
        user_admin::reset_devices,
        user_admin::set_user_limits,
        user_admin::list_users,
        user_admin::list_variables,
        user_admin::set_variable,
        user_admin::delete_variable,
        admin::update_settings,
        admin::get_user,
        service::livez,
        service::readyz,
        service::openapi,
    ),
    modifiers(&SecuritySchemes, &CommonResponses),
    tags(
        (name = "integration", description = "Called by the vendor's shipped program"),
        (name = "admin", description = "Called by the vendor's back office, per application"),
        (name = "webhooks", description = "Called by the vendor's back office: where the application's events are delivered"),
        (name = "files", description = "Called by the vendor's back office: files its program downloads"),
        (name = "operator", description = "Called by whoever runs the server"),
        (name = "service", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

/// Answers every route can give that the handlers' annotations leave out: 413 and 415 where
/// there is a JSON body, 503 wherever storage is used.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr, ResponseBuilder, content::ContentBuilder};
        let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", content)
                    .build(),
            )
        };
        for (path, item) in &mut openapi.paths.paths {
            let storage = !matches!(path.as_str(), "/livez" | "/api/openapi.json");
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                // JSON bodies; a file upload documents its own limit.
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                if json_body {
                    responses
                        .entry("413".into())
                        .or_insert_with(|| error("Body over 64 KiB"));
                    responses
                        .entry("415".into())
                        .or_insert_with(|| error("Body is not JSON"));
                }
                if storage {
                    responses
                        .entry("503".into())
                        .or_insert_with(|| error("The database is unavailable; see Retry-After"));
                }
            }
        }
    }
}

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "api_secret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-secret"))),
        );
        components.add_security_scheme("admin_api_key", bearer());
        components.add_security_scheme("session_token", bearer());
        components.add_security_scheme("operator_token", bearer());
    }
}
