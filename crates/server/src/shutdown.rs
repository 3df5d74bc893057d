//! Graceful shutdown. On SIGTERM (or Ctrl-C): `/readyz` turns 503 at once, so load balancers
//! stop sending new requests; requests keep being served for `http.drain_delay_ms`; then the
//! server stops accepting and gives requests in flight up to `http.shutdown_timeout_secs`.

use async_trait::async_trait;
use domain::ports::Readiness;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether shutdown has begun; shared by the signal task and readiness.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    #[must_use]
    pub fn has_begun(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Storage readiness, and not ready once draining.
pub struct DrainAwareReadiness {
    pub storage: Arc<dyn Readiness>,
    pub draining: Draining,
}

#[async_trait]
impl Readiness for DrainAwareReadiness {
    async fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.draining.has_begun(), "shutting down");
        self.storage.check().await
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
