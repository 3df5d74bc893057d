//! `/api/operator`: what the person running the server calls.

use crate::auth::Operator;
use crate::dto::{
    ApplicationListResponse, ApplicationResponse, CreateApplicationRequest,
    CreatedApplicationResponse, RotateRequest, RotatedSecretResponse, UpdateApplicationRequest,
};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::origin::Origin;
use crate::pages::PageQuery;
use crate::routes::files::shown_files_key;
use actix_web::{HttpResponse, web};
use domain::services::{FilesApi, OperatorApi};
use domain::values::ApplicationId;
use uuid::Uuid;

/// Create an application. Its secret and admin key are shown only in this response.
#[utoipa::path(
    post, path = "/api/operator/applications", tag = "operator",
    request_body = CreateApplicationRequest,
    security(("operator_token" = [])),
    responses(
        (status = 201, description = "The new application with its secrets", body = CreatedApplicationResponse),
        (status = 401, description = "Missing or wrong operator token", body = ErrorBody),
        (status = 404, description = "No operator token is configured", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn create_application(
    _: Operator,
    service: web::Data<dyn OperatorApi>,
    files: web::Data<dyn FilesApi>,
    body: JsonBody<CreateApplicationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (name, device_authentication) = body.0.try_into_domain()?;
    let created = service
        .create_application(name, device_authentication)
        .await?;
    let files_key = shown_files_key(files.as_ref(), &created.application)?;
    Ok(HttpResponse::Created().json(CreatedApplicationResponse {
        files_key,
        ..CreatedApplicationResponse::from(created)
    }))
}

/// List applications (no secrets), newest first, a page at a time.
#[utoipa::path(
    get, path = "/api/operator/applications", tag = "operator",
    params(PageQuery),
    security(("operator_token" = [])),
    responses(
        (status = 200, description = "One page of applications", body = ApplicationListResponse),
        (status = 401, description = "Missing or wrong operator token", body = ErrorBody),
        (status = 404, description = "No operator token is configured", body = ErrorBody),
        (status = 422, description = "Bad limit or cursor", body = ErrorBody),
    )
)]
pub async fn list_applications(
    _: Operator,
    service: web::Data<dyn OperatorApi>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<ApplicationListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    let applications = service.list_applications(page).await?;
    Ok(web::Json(applications.into()))
}

/// Rename an application or switch device authentication.
#[utoipa::path(
    patch, path = "/api/operator/applications/{id}", tag = "operator",
    params(("id" = Uuid, Path, description = "The application id")),
    request_body = UpdateApplicationRequest,
    security(("operator_token" = [])),
    responses(
        (status = 200, description = "The updated application", body = ApplicationResponse),
        (status = 401, description = "Missing or wrong operator token", body = ErrorBody),
        (status = 404, description = "No such application", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn update_application(
    operator: Operator,
    origin: Origin,
    service: web::Data<dyn OperatorApi>,
    files: web::Data<dyn FilesApi>,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateApplicationRequest>,
) -> Result<web::Json<ApplicationResponse>, ApiError> {
    let update = body.0.try_into_domain()?;
    let app = service
        .update_application(
            ApplicationId::from_uuid(id.into_inner()),
            update,
            &operator.changed_by(origin),
        )
        .await?
        .ok_or(ApiError::NotFound("application"))?;
    let files_key = shown_files_key(files.as_ref(), &app.application)?;
    Ok(web::Json(ApplicationResponse {
        files_key,
        ..app.into()
    }))
}

/// Replace an application's API secret or admin key; the old one keeps working for
/// `old_valid_for_seconds`, so shipped programs and back offices can move over.
#[utoipa::path(
    post, path = "/api/operator/applications/{id}/rotate", tag = "operator",
    params(("id" = Uuid, Path, description = "The application id")),
    request_body = RotateRequest,
    security(("operator_token" = [])),
    responses(
        (status = 200, description = "The new value, shown only here", body = RotatedSecretResponse),
        (status = 401, description = "Missing or wrong operator token", body = ErrorBody),
        (status = 404, description = "No such application", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn rotate_secret(
    operator: Operator,
    origin: Origin,
    service: web::Data<dyn OperatorApi>,
    id: web::Path<Uuid>,
    body: JsonBody<RotateRequest>,
) -> Result<web::Json<RotatedSecretResponse>, ApiError> {
    let (which, old_valid_for) = body.0.try_into_domain()?;
    let rotated = service
        .rotate_secret(
            ApplicationId::from_uuid(id.into_inner()),
            which,
            old_valid_for,
            &operator.changed_by(origin),
        )
        .await?
        .ok_or(ApiError::NotFound("application"))?;
    Ok(web::Json(rotated.into()))
}
