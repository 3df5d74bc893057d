//! The outbox reads an application's enabled webhook endpoints in every transaction that
//! records events (every sign-up): this keeps them in memory for a short lifetime, sparing
//! that query. A change to an endpoint made through this process applies at once (its
//! transaction forgets the application's entry when it commits); one made through another
//! replica applies here at most a lifetime later (`database.application_cache_ms`, as for
//! the other caches).

use domain::values::ApplicationId;
use domain::webhook::WebhookEndpoint;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An application's enabled endpoints, and when they were read.
type Entry = (Instant, Arc<Vec<WebhookEndpoint>>);

#[derive(Debug, Default)]
pub(crate) struct EndpointCache {
    /// Zero: nothing is kept.
    ttl: Duration,
    entries: Mutex<HashMap<ApplicationId, Entry>>,
}

impl EndpointCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    pub(crate) fn get(&self, app: ApplicationId) -> Option<Arc<Vec<WebhookEndpoint>>> {
        let entries = self.entries.lock().ok()?;
        let (stored, endpoints) = entries.get(&app)?;
        (stored.elapsed() < self.ttl).then(|| endpoints.clone())
    }

    pub(crate) fn put(&self, app: ApplicationId, endpoints: Arc<Vec<WebhookEndpoint>>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // Bounded by the number of applications; expired entries go as they are met.
            let ttl = self.ttl;
            entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
            entries.insert(app, (Instant::now(), endpoints));
        }
    }

    pub(crate) fn forget(&self, app: ApplicationId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&app);
        }
    }
}
