//! Liveness, readiness and the OpenAPI document.

use crate::dto::StatusResponse;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::ApiDoc;
use actix_web::{HttpResponse, web};
use domain::ports::Readiness;
use utoipa::OpenApi as _;

/// The process is up. Never touches the database.
#[utoipa::path(get, path = "/livez", tag = "service",
    responses((status = 200, description = "Alive", body = StatusResponse)))]
pub async fn livez() -> web::Json<StatusResponse> {
    web::Json(StatusResponse { status: "ok" })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses(
        (status = 200, description = "Ready", body = StatusResponse),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn readyz(
    readiness: web::Data<dyn Readiness>,
) -> Result<web::Json<StatusResponse>, ApiError> {
    match readiness.check().await {
        Ok(()) => Ok(web::Json(StatusResponse { status: "ok" })),
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "not ready");
            Err(ApiError::Unavailable)
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
