//! `/api/admin`: the user-management calls, scoped to the admin key's application.

use crate::auth::AdminApp;
use crate::dto::UserDetailsResponse;
use crate::dto_sign_in::VariableResponse;
use crate::dto_user_admin::{
    AdjustMembershipTimeRequest, LifetimeAccessRequest, ResetDevicesRequest, UserLimitsRequest,
    UserListResponse, UsersQuery, VariableListResponse, VariableRequest,
};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::origin::Origin;
use crate::pages::PageQuery;
use actix_web::{HttpResponse, web};
use domain::errors::UserAdminError;
use domain::services::UserAdminApi;
use domain::session::{Variable, VariableError};
use domain::values::UserId;
use uuid::Uuid;

pub(crate) fn user_error(error: UserAdminError) -> ApiError {
    match error {
        UserAdminError::UnknownUser => ApiError::NotFound("user"),
        UserAdminError::LifetimeMembership => ApiError::MembershipIsLifetime,
        UserAdminError::InvalidCredentials => ApiError::InvalidCredentials,
        UserAdminError::Busy => ApiError::Unavailable,
        UserAdminError::TooManyVariables => ApiError::TooManyVariables,
        UserAdminError::Unknown(error) => ApiError::from(error),
    }
}

type UserAnswer = Result<web::Json<UserDetailsResponse>, ApiError>;

/// Add minutes to, or remove minutes from, a user's membership.
#[utoipa::path(
    post, path = "/api/admin/adjust-membership-time", tag = "admin",
    request_body = AdjustMembershipTimeRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The user", body = UserDetailsResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The membership is lifetime", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn adjust_membership_time(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn UserAdminApi>,
    body: JsonBody<AdjustMembershipTimeRequest>,
) -> UserAnswer {
    let (user, minutes) = body.0.try_into_domain()?;
    let details = service
        .adjust_membership_time(app.0.id, user, minutes, &app.changed_by(origin))
        .await
        .map_err(user_error)?;
    Ok(web::Json(details.into()))
}

/// Grant or revoke lifetime access.
#[utoipa::path(
    post, path = "/api/admin/lifetime-access", tag = "admin",
    request_body = LifetimeAccessRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The user", body = UserDetailsResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn lifetime_access(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn UserAdminApi>,
    body: JsonBody<LifetimeAccessRequest>,
) -> UserAnswer {
    let (user, grant) = body.0.try_into_domain()?;
    let details = service
        .set_lifetime_access(app.0.id, user, grant, &app.changed_by(origin))
        .await
        .map_err(user_error)?;
    Ok(web::Json(details.into()))
}

/// Forget a user's devices (and end their sessions), by the user's credentials or id.
#[utoipa::path(
    post, path = "/api/admin/reset-devices", tag = "admin",
    request_body = ResetDevicesRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The user, with no devices", body = UserDetailsResponse),
        (status = 401, description = "Missing or wrong admin key, or wrong user credentials", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn reset_devices(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn UserAdminApi>,
    body: JsonBody<ResetDevicesRequest>,
) -> UserAnswer {
    let target = body.0.try_into_domain()?;
    let by = app.changed_by(origin);
    let details = service
        .reset_devices(&app.0, target, &by)
        .await
        .map_err(user_error)?;
    Ok(web::Json(details.into()))
}

/// Set a user's own device and session limits (null: the application's apply).
#[utoipa::path(
    put, path = "/api/admin/users/{id}/limits", tag = "admin",
    params(("id" = Uuid, Path, description = "The user id")),
    request_body = UserLimitsRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The user", body = UserDetailsResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub async fn set_user_limits(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    id: web::Path<Uuid>,
    body: JsonBody<UserLimitsRequest>,
) -> UserAnswer {
    let limits = body.0.try_into_domain()?;
    let user = UserId::from_uuid(id.into_inner());
    let details = service
        .set_user_limits(app.0.id, user, limits)
        .await
        .map_err(user_error)?;
    Ok(web::Json(details.into()))
}

/// The application's users, newest first, a page at a time by cursor. The deprecated
/// `page`/`per_page` still page oldest first, by offset, with a `total`.
#[utoipa::path(
    get, path = "/api/admin/users", tag = "admin",
    params(PageQuery, UsersQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of users", body = UserListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad limit, cursor, page or per_page, or both kinds of paging", body = ErrorBody),
    )
)]
pub async fn list_users(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    page: web::Query<PageQuery>,
    legacy: web::Query<UsersQuery>,
) -> Result<web::Json<UserListResponse>, ApiError> {
    if legacy.is_given() {
        if page.is_given() {
            return Err(ApiError::field(
                "page",
                "give either page and per_page, or limit and cursor",
            ));
        }
        let (number, per_page) = legacy.into_inner().try_into_domain()?;
        let users = service
            .list_users_by_offset(app.0.id, number, per_page)
            .await?;
        return Ok(web::Json(UserListResponse::by_offset(
            users, number, per_page,
        )));
    }
    let page = page.try_into_domain()?;
    let users = service.list_users(app.0.id, page).await?;
    Ok(web::Json(users.into()))
}

/// The application's variables, shown to signed-in clients in `app_context`.
#[utoipa::path(
    get, path = "/api/admin/variables", tag = "admin",
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "Every variable", body = VariableListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
    )
)]
pub async fn list_variables(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
) -> Result<web::Json<VariableListResponse>, ApiError> {
    let variables = service.list_variables(app.0.id).await?;
    let variables = variables.into_iter().map(VariableResponse::from).collect();
    Ok(web::Json(VariableListResponse { variables }))
}

/// Create or replace a variable.
#[utoipa::path(
    put, path = "/api/admin/variables/{name}", tag = "admin",
    params(("name" = String, Path, description = "1 to 64 characters, without control characters", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,64}$")),
    request_body = VariableRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The variable", body = VariableResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Name or value out of bounds", body = ErrorBody),
    )
)]
pub async fn set_variable(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    name: web::Path<String>,
    body: JsonBody<VariableRequest>,
) -> Result<web::Json<VariableResponse>, ApiError> {
    let is_public = body.0.is_public.unwrap_or(false);
    let variable =
        Variable::parse(&name, &body.0.value, is_public).map_err(|error| match error {
            VariableError::Name | VariableError::UserName => ApiError::field("name", error),
            VariableError::Value => ApiError::field("value", error),
        })?;
    service.set_variable(app.0.id, variable.clone()).await?;
    Ok(web::Json(VariableResponse::from(variable)))
}

/// Delete a variable.
#[utoipa::path(
    delete, path = "/api/admin/variables/{name}", tag = "admin",
    params(("name" = String, Path, description = "The variable's name", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,64}$")),
    security(("admin_api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such variable", body = ErrorBody),
    )
)]
pub async fn delete_variable(
    app: AdminApp,
    service: web::Data<dyn UserAdminApi>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::deleted(service.delete_variable(app.0.id, &name).await?, "variable")
}
