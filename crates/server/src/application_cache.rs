//! A short-lived cache in front of the application store. Every integration and admin request
//! first looks its application up by key; on a license sign-up that lookup is one of eight
//! database round trips, all waited for in turn (docs/benchmarks.md).
//!
//! What it may cost: a change made through this process (settings, a rotation) evicts the
//! application here at once; other replicas see it when their entry expires, at most `ttl`
//! later. Only found applications are cached, so unknown keys always reach the database
//! ([`TtlCache`]).

use crate::ttl_cache::TtlCache;
use async_trait::async_trait;
use domain::application::{
    Application, ApplicationUpdate, RequestSigningKeys, ResponseSigningKeys, Rotation,
};
use domain::event::Event;
use domain::page::{Page, PageRequest};
use domain::ports::ApplicationStore;
use domain::values::{ApplicationId, Digest};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    ApiKey(String),
    AdminKey(Digest),
}

pub struct CachedApplications {
    inner: Arc<dyn ApplicationStore>,
    cache: TtlCache<Key, Application>,
}

impl CachedApplications {
    pub fn new(inner: Arc<dyn ApplicationStore>, ttl: Duration) -> Self {
        Self {
            inner,
            cache: TtlCache::new(ttl),
        }
    }

    fn evict(&self, id: ApplicationId) {
        self.cache.evict(|_, application| application.id == id);
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
        self.cache
            .get_or_load(key, self.inner.find_by_api_key(api_key))
            .await
    }

    async fn find_by_admin_key(&self, digest: &Digest) -> anyhow::Result<Option<Application>> {
        let key = Key::AdminKey(*digest);
        self.cache
            .get_or_load(key, self.inner.find_by_admin_key(digest))
            .await
    }

    async fn rotate(
        &self,
        id: ApplicationId,
        rotation: &Rotation,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        // Evicted after the write, so no lookup in between can cache the old row for long.
        let rotated = self.inner.rotate(id, rotation, events).await;
        self.evict(id);
        rotated
    }

    async fn update(
        &self,
        id: ApplicationId,
        update: &ApplicationUpdate,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let updated = self.inner.update(id, update, events).await;
        self.evict(id);
        updated
    }

    async fn set_request_signing_keys(
        &self,
        id: ApplicationId,
        keys: &RequestSigningKeys,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let stored = self.inner.set_request_signing_keys(id, keys, events).await;
        self.evict(id);
        stored
    }

    async fn set_files_key(
        &self,
        id: ApplicationId,
        sealed: &[u8],
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let stored = self.inner.set_files_key(id, sealed, events).await;
        self.evict(id);
        stored
    }

    async fn set_response_signing_keys(
        &self,
        id: ApplicationId,
        keys: &ResponseSigningKeys,
        events: &[Event],
    ) -> anyhow::Result<Option<Application>> {
        let stored = self.inner.set_response_signing_keys(id, keys, events).await;
        self.evict(id);
        stored
    }
}

#[cfg(test)]
mod tests;
