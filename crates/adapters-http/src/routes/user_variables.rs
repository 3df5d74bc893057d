//! User variables: the signed-in user's own, under `/api/integration/user/variables`, and
//! any user's, under `/api/admin/users/{id}/variables`.

use crate::auth::{AdminApp, IntegrationApp};
use crate::caller::{answer, caller};
use crate::client_ip::ClientAddress;
use crate::dto_user_admin::{UserVariableListResponse, UserVariableRequest, UserVariableResponse};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::routes::user_admin::user_error;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::ports::RateLimiter;
use domain::services::{SignInApi, UserAdminApi};
use domain::session::{UserVariable, VariableError};
use domain::values::UserId;
use uuid::Uuid;

fn parse(name: &str, value: &str) -> Result<UserVariable, ApiError> {
    UserVariable::parse(name, value).map_err(|error| match error {
        VariableError::Value => ApiError::field("value", error),
        VariableError::Name | VariableError::UserName => ApiError::field("name", error),
    })
}

/// The signed-in user's variables, sorted by name.
#[utoipa::path(
    get, path = "/api/integration/user/variables", tag = "integration",
    security(("api_key" = [], "api_secret" = [], "session_token" = [])),
    responses(
        (status = 200, description = "The user's variables", body = UserVariableListResponse),
        (status = 401, description = "Missing, unknown, expired or revoked session token", body = ErrorBody),
        (status = 403, description = "The IP or the user is banned", body = ErrorBody),
    )
)]
pub async fn list_own(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn SignInApi>,
    limiter: web::Data<dyn RateLimiter>,
    req: HttpRequest,
) -> Result<web::Json<UserVariableListResponse>, ApiError> {
    let caller = caller(&req, &app.0, ip.0)?;
    let variables = answer(limiter.as_ref(), &app.0, ip.0, caller, |caller| {
        service.user_variables(&app.0, caller, ip.0)
    })
    .await?;
    Ok(web::Json(variables.into()))
}

/// Create or replace one of the signed-in user's variables.
#[utoipa::path(
    put, path = "/api/integration/user/variables/{name}", tag = "integration",
    params(("name" = String, Path, description = "1 to 64 characters of A-Z, a-z, 0-9, _, . and -", pattern = r"^[A-Za-z0-9_.-]{1,64}$")),
    request_body = UserVariableRequest,
    security(("api_key" = [], "api_secret" = [], "session_token" = [])),
    responses(
        (status = 200, description = "The variable", body = UserVariableResponse),
        (status = 401, description = "Missing, unknown, expired or revoked session token", body = ErrorBody),
        (status = 403, description = "The IP or the user is banned", body = ErrorBody),
        (status = 409, description = "The user has as many variables as the application allows", body = ErrorBody),
        (status = 422, description = "Name or value out of bounds", body = ErrorBody),
    )
)]
pub async fn set_own(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn SignInApi>,
    limiter: web::Data<dyn RateLimiter>,
    req: HttpRequest,
    name: web::Path<String>,
    body: JsonBody<UserVariableRequest>,
) -> Result<web::Json<UserVariableResponse>, ApiError> {
    let variable = parse(&name, &body.0.value)?;
    let caller = caller(&req, &app.0, ip.0)?;
    answer(limiter.as_ref(), &app.0, ip.0, caller, |caller| {
        service.set_user_variable(&app.0, caller, ip.0, variable.clone())
    })
    .await?;
    Ok(web::Json(variable.into()))
}

/// Delete one of the signed-in user's variables.
#[utoipa::path(
    delete, path = "/api/integration/user/variables/{name}", tag = "integration",
    params(("name" = String, Path, description = "The variable's name", pattern = r"^[A-Za-z0-9_.-]{1,64}$")),
    security(("api_key" = [], "api_secret" = [], "session_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing, unknown, expired or revoked session token", body = ErrorBody),
        (status = 403, description = "The IP or the user is banned", body = ErrorBody),
        (status = 404, description = "The user has no variable of that name", body = ErrorBody),
    )
)]
pub async fn delete_own(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn SignInApi>,
    limiter: web::Data<dyn RateLimiter>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req, &app.0, ip.0)?;
    let deleted = answer(limiter.as_ref(), &app.0, ip.0, caller, |caller| {
        service.delete_user_variable(&app.0, caller, ip.0, &name)
    })
    .await?;
    super::deleted(deleted, "variable")
}

/// A user's variables, sorted by name.
#[utoipa::path(
    get, path = "/api/admin/users/{id}/variables", tag = "admin",
    params(("id" = Uuid, Path, description = "The user id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The user's variables", body = UserVariableListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user in this application", body = ErrorBody),
    )
)]
pub async fn list(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    id: web::Path<Uuid>,
) -> Result<web::Json<UserVariableListResponse>, ApiError> {
    let user = UserId::from_uuid(id.into_inner());
    let variables = service
        .list_user_variables(app.0.id, user)
        .await
        .map_err(user_error)?;
    Ok(web::Json(variables.into()))
}

/// Create or replace one of a user's variables.
#[utoipa::path(
    put, path = "/api/admin/users/{id}/variables/{name}", tag = "admin",
    params(
        ("id" = Uuid, Path, description = "The user id"),
        ("name" = String, Path, description = "1 to 64 characters of A-Z, a-z, 0-9, _, . and -", pattern = r"^[A-Za-z0-9_.-]{1,64}$"),
    ),
    request_body = UserVariableRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The variable", body = UserVariableResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user in this application", body = ErrorBody),
        (status = 409, description = "The user has as many variables as the application allows", body = ErrorBody),
        (status = 422, description = "Name or value out of bounds", body = ErrorBody),
    )
)]
pub async fn set(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    path: web::Path<(Uuid, String)>,
    body: JsonBody<UserVariableRequest>,
) -> Result<web::Json<UserVariableResponse>, ApiError> {
    let (id, name) = path.into_inner();
    let variable = parse(&name, &body.0.value)?;
    service
        .set_user_variable(&app.0, UserId::from_uuid(id), variable.clone())
        .await
        .map_err(user_error)?;
    Ok(web::Json(variable.into()))
}

/// Delete one of a user's variables.
#[utoipa::path(
    delete, path = "/api/admin/users/{id}/variables/{name}", tag = "admin",
    params(
        ("id" = Uuid, Path, description = "The user id"),
        ("name" = String, Path, description = "The variable's name", pattern = r"^[A-Za-z0-9_.-]{1,64}$"),
    ),
    security(("admin_api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user, or no such variable", body = ErrorBody),
    )
)]
pub async fn delete(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let deleted = service
        .delete_user_variable(app.0.id, UserId::from_uuid(id), &name)
        .await
        .map_err(user_error)?;
    super::deleted(deleted, "variable")
}
