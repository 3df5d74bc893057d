//! A short-lived cache in front of the application store. Every integration and admin request
//! first looks its application up by key; on a license sign-up that lookup is one of eight
//! database round trips, all waited for in turn (docs/benchmarks.md).
//!
//! What it may cost: a change made through this process (settings, a rotation) evicts the
//! application here at once; other replicas see it when their entry expires, at most `ttl`
//! later. Only found applications are cached, so unknown keys always reach the database, and
//! errors are never cached.

use async_trait::async_trait;
use domain::application::{
    Application, ApplicationUpdate, RequestSigningKeys, ResponseSigningKeys, Rotation,
};
use domain::page::{Page, PageRequest};
use domain::ports::ApplicationStore;
use domain::values::{ApplicationId, Digest};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Past this many entries, expired ones are swept at the next insert.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    ApiKey(String),
    AdminKey(Digest),
}

pub struct CachedApplications {
    inner: Arc<dyn ApplicationStore>,
    ttl: Duration,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<Key, (Instant, Application)>,
    /// Bumped by every eviction: a lookup that started before one does not cache what it
    /// read, which may be the row from before the change.
    generation: u64,
}

impl CachedApplications {
    pub fn new(inner: Arc<dyn ApplicationStore>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The cached application, or the generation to cache a fresh lookup under.
    fn cached(&self, key: &Key) -> Result<Application, u64> {
        let Ok(entries) = self.entries.lock() else {
            return Err(u64::MAX); // a poisoned cache is bypassed
        };
        match entries.by_key.get(key) {
            Some((stored_at, application)) if stored_at.elapsed() < self.ttl => {
                Ok(application.clone())
            }
            _ => Err(entries.generation),
        }
    }

    /// Looks `key` up here, else in the store, caching what the store found.
    async fn find(
        &self,
        key: Key,
        lookup: impl Future<Output = anyhow::Result<Option<Application>>>,
    ) -> anyhow::Result<Option<Application>> {
        let generation = match self.cached(&key) {
            Ok(application) => return Ok(Some(application)),
            Err(generation) => generation,
        };
        let found = lookup.await?;
        if let (Some(application), Ok(mut entries)) = (&found, self.entries.lock())
            && entries.generation == generation
        {
            if entries.by_key.len() >= SWEEP_ABOVE {
                let ttl = self.ttl;
                entries
                    .by_key
                    .retain(|_, (stored_at, _)| stored_at.elapsed() < ttl);
            }
            entries
                .by_key
                .insert(key, (Instant::now(), application.clone()));
        }
        Ok(found)
    }

    fn evict(&self, id: ApplicationId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries
                .by_key
                .retain(|_, (_, application)| application.id != id);
            entries.generation += 1;
        }
    }
}

#[async_trait]
impl ApplicationStore for CachedApplications {
    async fn create(&self, application: &Application) -> anyhow::Result<()> {
        self.inner.create(application).await
    }

    async fn list(&self, page: &PageRequest) -> anyhow::Result<Page<Application>> {
        self.inner.list(page).await
    }

    async fn get(&self, id: ApplicationId) -> anyhow::Result<Option<Application>> {
        self.inner.get(id).await
    }

    async fn find_by_api_key(&self, api_key: &str) -> anyhow::Result<Option<Application>> {
        let key = Key::ApiKey(api_key.to_owned());
        self.find(key, self.inner.find_by_api_key(api_key)).await
    }

    async fn find_by_admin_key(&self, digest: &Digest) -> anyhow::Result<Option<Application>> {
        let key = Key::AdminKey(*digest);
        self.find(key, self.inner.find_by_admin_key(digest)).await
    }

    async fn rotate(
        &self,
        id: ApplicationId,
        rotation: &Rotation,
    ) -> anyhow::Result<Option<Application>> {
        // Evicted after the write, so no lookup in between can cache the old row for long.
        let rotated = self.inner.rotate(id, rotation).await;
        self.evict(id);
        rotated
    }

    async fn update(
        &self,
        id: ApplicationId,
        update: &ApplicationUpdate,
    ) -> anyhow::Result<Option<Application>> {
        let updated = self.inner.update(id, update).await;
        self.evict(id);
        updated
    }

    async fn set_request_signing_keys(
        &self,
        id: ApplicationId,
        keys: &RequestSigningKeys,
    ) -> anyhow::Result<Option<Application>> {
        let stored = self.inner.set_request_signing_keys(id, keys).await;
        self.evict(id);
        stored
    }

    async fn set_response_signing_keys(
        &self,
        id: ApplicationId,
        keys: &ResponseSigningKeys,
    ) -> anyhow::Result<Option<Application>> {
        let stored = self.inner.set_response_signing_keys(id, keys).await;
        self.evict(id);
        stored
    }
}

#[cfg(test)]
mod tests;
