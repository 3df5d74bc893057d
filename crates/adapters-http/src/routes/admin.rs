//! `/api/admin`: what a vendor's back office calls, scoped to the admin key's application.

use crate::auth::AdminApp;
use crate::dto::{SettingsRequest, SettingsResponse, UserDetailsResponse};
use crate::dto_bans::{BanListResponse, BanResponse, BansQuery, CreateBanRequest};
use crate::dto_licenses::{
    CreateLicensesRequest, CreatedLicensesResponse, LicenseListResponse, LicenseResponse,
    LicensesQuery,
};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::origin::Origin;
use crate::pages::PageQuery;
use crate::routes::files::shown_files_key;
use actix_web::{HttpResponse, web};
use domain::ban::StoredBan;
use domain::errors::{CreateBanError, CreateLicensesError};
use domain::services::{AdminApi, FilesApi};
use domain::values::{BanId, LicenseCode};
use uuid::Uuid;

/// Create licenses: `count` generated codes, or import `codes`. Codes are shown only here.
#[utoipa::path(
    post, path = "/api/admin/licenses", tag = "admin",
    request_body = CreateLicensesRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 201, description = "The new licenses with their codes", body = CreatedLicensesResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 409, description = "An imported code exists", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn create_licenses(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn AdminApi>,
    body: JsonBody<CreateLicensesRequest>,
) -> Result<HttpResponse, ApiError> {
    let batch = body.0.try_into_domain()?;
    let created = service
        .create_licenses(app.0.id, batch, &app.changed_by(origin))
        .await
        .map_err(|error| match error {
            CreateLicensesError::DuplicateCode => ApiError::LicenseCodeExists,
            CreateLicensesError::Unknown(error) => ApiError::from(error),
        })?;
    Ok(HttpResponse::Created().json(CreatedLicensesResponse::from(created)))
}

/// Look up a license by its code.
#[utoipa::path(
    get, path = "/api/admin/license/{code}", tag = "admin",
    params(("code" = String, Path, description = "The license code")),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The license", body = LicenseResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such license in this application", body = ErrorBody),
    )
)]
pub async fn get_license(
    app: AdminApp,
    service: web::Data<dyn AdminApi>,
    code: web::Path<String>,
) -> Result<web::Json<LicenseResponse>, ApiError> {
    let not_found = || ApiError::NotFound("license");
    let code = LicenseCode::parse(&code).map_err(|_| not_found())?;
    let details = service
        .find_license(app.0.id, &code)
        .await?
        .ok_or_else(not_found)?;
    Ok(web::Json(details.into()))
}

/// List the application's licenses, newest first, a page at a time, with filters.
#[utoipa::path(
    get, path = "/api/admin/licenses", tag = "admin",
    params(PageQuery, LicensesQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of licenses", body = LicenseListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad limit, cursor or filter", body = ErrorBody),
    )
)]
pub async fn list_licenses(
    app: AdminApp,
    service: web::Data<dyn AdminApi>,
    page: web::Query<PageQuery>,
    filter: web::Query<LicensesQuery>,
) -> Result<web::Json<LicenseListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    let filter = filter.into_inner().try_into_domain()?;
    let licenses = service.list_licenses(app.0.id, filter, page).await?;
    Ok(web::Json(licenses.into()))
}

/// Ban an IP address or range, a hardware id, a license or a user, for good or until it
/// expires. A target already banned keeps its ban, which is answered with `200`.
#[utoipa::path(
    post, path = "/api/admin/bans", tag = "admin",
    request_body = CreateBanRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 201, description = "The new ban", body = BanResponse),
        (status = 200, description = "The target was banned already: that ban, unchanged", body = BanResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Invalid type or value, or an unknown license or user", body = ErrorBody),
    )
)]
pub async fn create_ban(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn AdminApi>,
    body: JsonBody<CreateBanRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0.try_into_domain()?;
    let stored = service
        .create_ban(app.0.id, request, &app.changed_by(origin))
        .await
        .map_err(|error| match error {
            CreateBanError::UnknownLicense | CreateBanError::UnknownUser => {
                ApiError::field("value", error)
            }
            CreateBanError::ExpiryNotInFuture => ApiError::field("expires_at", error),
            CreateBanError::Unknown(error) => ApiError::from(error),
        })?;
    Ok(match stored {
        StoredBan::Created(ban) => HttpResponse::Created().json(BanResponse::from(ban)),
        StoredBan::Existing(ban) => HttpResponse::Ok().json(BanResponse::from(ban)),
    })
}

/// List the application's bans in force, newest first, a page at a time, by kind or value.
#[utoipa::path(
    get, path = "/api/admin/bans", tag = "admin",
    params(PageQuery, BansQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of bans", body = BanListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad limit, cursor or type", body = ErrorBody),
    )
)]
pub async fn list_bans(
    app: AdminApp,
    service: web::Data<dyn AdminApi>,
    page: web::Query<PageQuery>,
    filter: web::Query<BansQuery>,
) -> Result<web::Json<BanListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    let filter = filter.into_inner().try_into_domain()?;
    let bans = service.list_bans(app.0.id, filter, page).await?;
    Ok(web::Json(bans.into()))
}

/// The application's sign-in settings.
#[utoipa::path(
    get, path = "/api/admin/settings", tag = "admin",
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The settings", body = SettingsResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
    )
)]
pub async fn get_settings(
    app: AdminApp,
    files: web::Data<dyn FilesApi>,
) -> Result<web::Json<SettingsResponse>, ApiError> {
    Ok(web::Json(SettingsResponse {
        files_key: shown_files_key(files.as_ref(), &app.0)?,
        ..SettingsResponse::from(&app.0)
    }))
}

/// Change the application's device and session limits, session lifetime and cross-banning.
#[utoipa::path(
    patch, path = "/api/admin/settings", tag = "admin",
    request_body = SettingsRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The settings as changed", body = SettingsResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn update_settings(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn AdminApi>,
    files: web::Data<dyn FilesApi>,
    body: JsonBody<SettingsRequest>,
) -> Result<web::Json<SettingsResponse>, ApiError> {
    let update = body.0.try_into_domain()?;
    let change = service
        .update_settings(app.0.id, update, &app.changed_by(origin))
        .await?;
    let files_key = shown_files_key(files.as_ref(), &change.application)?;
    Ok(web::Json(SettingsResponse {
        files_key,
        ..SettingsResponse::from(change)
    }))
}

/// Lift a ban.
#[utoipa::path(
    delete, path = "/api/admin/bans/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "The ban id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such ban in this application", body = ErrorBody),
    )
)]
pub async fn delete_ban(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn AdminApi>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = BanId::from_uuid(id.into_inner());
    let by = app.changed_by(origin);
    super::deleted(service.delete_ban(app.0.id, id, &by).await?, "ban")
}

/// Look up a user by username, or by the license code they signed up with.
#[utoipa::path(
    get, path = "/api/admin/user/{username_or_license_code}", tag = "admin",
    params(("username_or_license_code" = String, Path, description = "A username or a license code")),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The user and their devices", body = UserDetailsResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user in this application", body = ErrorBody),
    )
)]
pub async fn get_user(
    app: AdminApp,
    service: web::Data<dyn AdminApi>,
    query: web::Path<String>,
) -> Result<web::Json<UserDetailsResponse>, ApiError> {
    let details = service
        .find_user(app.0.id, &query)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(web::Json(details.into()))
}
