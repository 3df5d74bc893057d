//! One log line and the request metrics per request: method, route pattern, status and
//! latency. The route pattern, not the path, because paths can carry license codes
//! (`/api/admin/license/{code}`), and because it keeps the metrics' label sets small.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use std::time::Instant;

/// Wrap an `App` with `actix_web::middleware::from_fn(log_request)`.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    tracing::info!(%method, %route, status, latency_ms = elapsed * 1000.0, "request");
    metrics::counter!(
        "latchkey_http_requests_total",
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("latchkey_http_request_duration_seconds", "route" => route).record(elapsed);
    Ok(response)
}
