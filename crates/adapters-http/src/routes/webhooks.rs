//! `/api/admin/webhooks`: the application's webhook endpoints, their deliveries, redelivery
//! and test messages (docs/webhooks.md).

use crate::auth::AdminApp;
use crate::dto_webhooks::{
    CreateWebhookRequest, RotateWebhookSecretRequest, UpdateWebhookRequest,
    WebhookDeliveryListResponse, WebhookDeliveryResponse, WebhookListResponse, WebhookResponse,
    WebhookWithSecretResponse,
};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::origin::Origin;
use crate::pages::PageQuery;
use actix_web::{HttpResponse, web};
use domain::errors::WebhookError;
use domain::services::WebhookApi;
use domain::values::{WebhookDeliveryId, WebhookEndpointId};
use uuid::Uuid;

fn webhook_error(error: WebhookError) -> ApiError {
    match error {
        WebhookError::UnknownEndpoint => ApiError::NotFound("webhook endpoint"),
        WebhookError::UnknownDelivery => ApiError::NotFound("delivery"),
        WebhookError::DeliveryInFlight => ApiError::DeliveryInFlight,
        WebhookError::TargetRefused(why) => ApiError::field("url", why),
        WebhookError::Unknown(error) => ApiError::from(error),
    }
}

fn endpoint_id(id: web::Path<Uuid>) -> WebhookEndpointId {
    WebhookEndpointId::from_uuid(id.into_inner())
}

/// Add an endpoint. Its `whsec_` secret is in this answer only.
#[utoipa::path(
    post, path = "/api/admin/webhooks", tag = "webhooks",
    request_body = CreateWebhookRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 201, description = "The endpoint, with its secret", body = WebhookWithSecretResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad url (or a private target), event_types or description", body = ErrorBody),
    )
)]
pub async fn create_webhook(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn WebhookApi>,
    body: JsonBody<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let new = body.0.try_into_domain()?;
    let created = service
        .create_webhook(app.0.id, new, &app.changed_by(origin))
        .await
        .map_err(webhook_error)?;
    Ok(HttpResponse::Created().json(WebhookWithSecretResponse::from(created)))
}

/// The application's endpoints, newest first.
#[utoipa::path(
    get, path = "/api/admin/webhooks", tag = "webhooks",
    params(PageQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of endpoints", body = WebhookListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad limit or cursor", body = ErrorBody),
    )
)]
pub async fn list_webhooks(
    app: AdminApp,
    service: web::Data<dyn WebhookApi>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<WebhookListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    let endpoints = service.list_webhooks(app.0.id, page).await?;
    Ok(web::Json(endpoints.into()))
}

/// One endpoint.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The endpoint", body = WebhookResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such endpoint in this application", body = ErrorBody),
    )
)]
pub async fn get_webhook(
    app: AdminApp,
    service: web::Data<dyn WebhookApi>,
    id: web::Path<Uuid>,
) -> Result<web::Json<WebhookResponse>, ApiError> {
    let endpoint = service
        .get_webhook(app.0.id, endpoint_id(id))
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(endpoint.into()))
}

/// Change an endpoint's url, event types, description, or whether it is enabled.
#[utoipa::path(
    patch, path = "/api/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint id")),
    request_body = UpdateWebhookRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The endpoint", body = WebhookResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such endpoint in this application", body = ErrorBody),
        (status = 422, description = "Bad url (or a private target), event_types or description", body = ErrorBody),
    )
)]
pub async fn update_webhook(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn WebhookApi>,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateWebhookRequest>,
) -> Result<web::Json<WebhookResponse>, ApiError> {
    let change = body.0.try_into_domain()?;
    let endpoint = service
        .update_webhook(app.0.id, endpoint_id(id), change, &app.changed_by(origin))
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(endpoint.into()))
}

/// Remove an endpoint, with its deliveries.
#[utoipa::path(
    delete, path = "/api/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such endpoint in this application", body = ErrorBody),
    )
)]
pub async fn delete_webhook(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn WebhookApi>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    service
        .delete_webhook(app.0.id, endpoint_id(id), &app.changed_by(origin))
        .await
        .map_err(webhook_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret, shown once; the old one keeps signing beside it for the overlap.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint id")),
    request_body = RotateWebhookSecretRequest,
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = WebhookWithSecretResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such endpoint in this application", body = ErrorBody),
        (status = 422, description = "Bad old_valid_for_seconds", body = ErrorBody),
    )
)]
pub async fn rotate_webhook_secret(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn WebhookApi>,
    id: web::Path<Uuid>,
    body: JsonBody<RotateWebhookSecretRequest>,
) -> Result<web::Json<WebhookWithSecretResponse>, ApiError> {
    let overlap = body.0.try_into_domain()?;
    let rotated = service
        .rotate_webhook_secret(app.0.id, endpoint_id(id), overlap, &app.changed_by(origin))
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(rotated.into()))
}

/// The endpoint's deliveries, newest first, each with its attempts.
#[utoipa::path(
    get, path = "/api/admin/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint id"), PageQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of deliveries", body = WebhookDeliveryListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such endpoint in this application", body = ErrorBody),
        (status = 422, description = "Bad limit or cursor", body = ErrorBody),
    )
)]
pub async fn list_webhook_deliveries(
    app: AdminApp,
    service: web::Data<dyn WebhookApi>,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<WebhookDeliveryListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    let deliveries = service
        .list_deliveries(app.0.id, endpoint_id(id), page)
        .await
        .map_err(webhook_error)?;
    Ok(web::Json(deliveries.into()))
}

/// Send a delivery again, with the same `webhook-id`, and a new run of retries.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "The endpoint id"),
        ("delivery_id" = Uuid, Path, description = "The delivery id"),
    ),
    security(("admin_api_key" = [])),
    responses(
        (status = 202, description = "Queued", body = WebhookDeliveryResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such delivery of this endpoint", body = ErrorBody),
        (status = 409, description = "The delivery is being sent now", body = ErrorBody),
    )
)]
pub async fn redeliver_webhook(
    app: AdminApp,
    service: web::Data<dyn WebhookApi>,
    ids: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, delivery) = ids.into_inner();
    let requeued = service
        .redeliver(
            app.0.id,
            WebhookEndpointId::from_uuid(endpoint),
            WebhookDeliveryId::from_uuid(delivery),
        )
        .await
        .map_err(webhook_error)?;
    Ok(HttpResponse::Accepted().json(WebhookDeliveryResponse::from(requeued)))
}

/// Queue a test message (`webhook_endpoint.test`) for the endpoint.
#[utoipa::path(
    post, path = "/api/admin/webhooks/{id}/test", tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 202, description = "Queued", body = WebhookDeliveryResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such endpoint in this application", body = ErrorBody),
    )
)]
pub async fn test_webhook(
    app: AdminApp,
    service: web::Data<dyn WebhookApi>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let queued = service
        .send_test_webhook(app.0.id, endpoint_id(id))
        .await
        .map_err(webhook_error)?;
    Ok(HttpResponse::Accepted().json(WebhookDeliveryResponse::from(queued)))
}
