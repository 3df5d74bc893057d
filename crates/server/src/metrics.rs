//! Prometheus metrics, served as text on an address of their own (`metrics.bind`, off by
//! default) so they are never exposed with the API. The adapters record through the
//! `metrics` facade; the recorder is installed here, once per process.

use actix_web::{App, HttpResponse, HttpServer, web};
use adapters_postgres::SeaOrmStore;
use anyhow::Context as _;
use domain::ports::WebhookStore as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::TcpListener;
use std::sync::Mutex;

/// Latency buckets in seconds: from a cached check (1 ms) to a queued hash (5 s).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process's recorder, installed on first use (several servers may share a process in
/// tests).
fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut handle = HANDLE
        .lock()
        .map_err(|_| anyhow::anyhow!("the metrics lock is poisoned"))?;
    if let Some(handle) = handle.as_ref() {
        return Ok(handle.clone());
    }
    let installed = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    *handle = Some(installed.clone());
    Ok(installed)
}

struct Scrape {
    handle: PrometheusHandle,
    store: SeaOrmStore,
}

async fn render(scrape: web::Data<Scrape>) -> HttpResponse {
    let (open, idle) = scrape.store.pool_connections();
    metrics::gauge!("latchkey_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("latchkey_db_pool_connections", "state" => "in_use")
        .set(f64::from(open) - idle as f64);
    // Read at scrape time from the table every replica shares: the same on each replica.
    match scrape.store.backlog().await {
        Ok(backlog) => {
            metrics::gauge!("latchkey_webhook_deliveries_pending").set(backlog.pending as f64);
            let age = backlog.oldest_created_at.map_or(0.0, |oldest| {
                (chrono::Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("latchkey_webhook_oldest_pending_age_seconds").set(age);
        }
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "reading the webhook backlog failed"
            );
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(scrape.handle.render())
}

/// A bound metrics server and its port.
///
/// # Errors
/// When the recorder cannot be installed or the address cannot be bound.
pub fn serve(bind: &str, store: SeaOrmStore) -> anyhow::Result<(actix_web::dev::Server, u16)> {
    let scrape = web::Data::new(Scrape {
        handle: recorder()?,
        store,
    });
    let listener =
        TcpListener::bind(bind).with_context(|| format!("binding metrics.bind {bind}"))?;
    let port = listener
        .local_addr()
        .context("reading the metrics address")?
        .port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(scrape.clone())
            .route("/metrics", web::get().to(render))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .context("listening for metrics")?
    .run();
    Ok((server, port))
}
