//! The admin API's audit log: the list, and the NDJSON export (docs/events.md).

use crate::auth::AdminApp;
use crate::dto_audit::{AuditEventResponse, AuditListResponse, AuditQuery};
use crate::error::{ApiError, ErrorBody};
use crate::pages::PageQuery;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use domain::page::PageRequest;
use domain::services::AdminApi;
use futures_util::stream;

/// The audit log: every change to the application, newest first, a page at a time, by
/// action, actor, target and time.
#[utoipa::path(
    get, path = "/api/admin/audit", tag = "admin",
    params(PageQuery, AuditQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of events", body = AuditListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad limit, cursor, action, actor, target or time", body = ErrorBody),
    )
)]
pub async fn list_audit(
    app: AdminApp,
    service: web::Data<dyn AdminApi>,
    page: web::Query<PageQuery>,
    filter: web::Query<AuditQuery>,
) -> Result<web::Json<AuditListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    let filter = filter.into_inner().try_into_domain()?;
    let events = service.audit(app.0.id, filter, page).await?;
    Ok(web::Json(events.into()))
}

/// The audit log as NDJSON, one event per line, newest first, streamed a page at a time
/// (never whole in memory); the same filters as the list.
#[utoipa::path(
    get, path = "/api/admin/audit/export", tag = "admin",
    params(AuditQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "Every matching event, one JSON object per line", content_type = "application/x-ndjson", body = AuditEventResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad action, actor, target or time", body = ErrorBody),
    )
)]
pub async fn export_audit(
    app: AdminApp,
    service: web::Data<dyn AdminApi>,
    filter: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner().try_into_domain()?;
    let first = Some(PageRequest::largest(None));
    let app_id = app.0.id;
    // One page of events in memory at a time; a failure ends the stream early (the status
    // line has been sent), and is logged.
    let pages = stream::unfold(first, move |page| {
        let (service, filter) = (service.clone(), filter.clone());
        async move {
            let page = page?;
            match service.audit(app_id, filter, page).await {
                Ok(events) => {
                    let next = events.next.map(|cursor| PageRequest::largest(Some(cursor)));
                    let mut lines = Vec::new();
                    for event in events.items {
                        let line = serde_json::to_vec(&AuditEventResponse::from(event));
                        lines.extend(line.unwrap_or_default());
                        lines.push(b'\n');
                    }
                    Some((Ok::<_, actix_web::Error>(Bytes::from(lines)), next))
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "the audit export failed");
                    let failed =
                        actix_web::error::ErrorServiceUnavailable("the audit export failed");
                    Some((Err(failed), None))
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(pages))
}
