//! A short-lived cache of what a store found, shared by the caching decorators in front of
//! the stores (`application_cache`, `ban_cache`). An entry lives for `ttl`; a change made
//! through this process evicts what it touched at once, and other replicas see the change
//! when their entry expires. Errors are never cached, nor is a value the loader did not find.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Past this many entries, expired ones are swept at the next insert.
const SWEEP_ABOVE: usize = 10_000;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<Entries<K, V>>,
}

struct Entries<K, V> {
    by_key: HashMap<K, (Instant, V)>,
    /// Bumped by every eviction: a load that started before one does not cache what it
    /// read, which may be from before the change.
    generation: u64,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(Entries {
                by_key: HashMap::new(),
                generation: 0,
            }),
        }
    }

    /// The cached value, or the generation to cache a fresh load under.
    fn cached(&self, key: &K) -> Result<V, u64> {
        let Ok(entries) = self.entries.lock() else {
            return Err(u64::MAX); // a poisoned cache is bypassed
        };
        match entries.by_key.get(key) {
            Some((stored_at, value)) if stored_at.elapsed() < self.ttl => Ok(value.clone()),
            _ => Err(entries.generation),
        }
    }

    /// The value of `key` from here, else from `load`, caching what `load` found.
    pub async fn get_or_load(
        &self,
        key: K,
        load: impl Future<Output = anyhow::Result<Option<V>>>,
    ) -> anyhow::Result<Option<V>> {
        let generation = match self.cached(&key) {
            Ok(value) => return Ok(Some(value)),
            Err(generation) => generation,
        };
        let found = load.await?;
        if let (Some(value), Ok(mut entries)) = (&found, self.entries.lock())
            && entries.generation == generation
        {
            if entries.by_key.len() >= SWEEP_ABOVE {
                let ttl = self.ttl;
                entries
                    .by_key
                    .retain(|_, (stored_at, _)| stored_at.elapsed() < ttl);
            }
            entries.by_key.insert(key, (Instant::now(), value.clone()));
        }
        Ok(found)
    }

    /// Drops every entry `stale` says is, and keeps loads in flight from caching.
    pub fn evict(&self, stale: impl Fn(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.by_key.retain(|key, (_, value)| !stale(key, value));
            entries.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_load_that_read_before_an_eviction_does_not_cache_what_it_read() {
        let cache = TtlCache::<&str, u32>::new(TTL);
        let load = async {
            // The row is read; then a change commits and evicts before the load caches it.
            let read = Some(1);
            cache.evict(|_, _| true);
            Ok(read)
        };
        assert_eq!(cache.get_or_load("key", load).await.unwrap(), Some(1));
        assert!(
            cache.cached(&"key").is_err(),
            "what was read before is not cached"
        );

        let again = async { Ok(Some(2)) };
        assert_eq!(cache.get_or_load("key", again).await.unwrap(), Some(2));
        assert_eq!(cache.cached(&"key"), Ok(2), "a load after the eviction is");
    }

    #[tokio::test(start_paused = true)]
    async fn an_entry_lives_for_the_ttl_and_only_found_values_are_kept() {
        let cache = TtlCache::<&str, u32>::new(TTL);
        let not_found = async { Ok(None) };
        assert_eq!(cache.get_or_load("key", not_found).await.unwrap(), None);
        let failed = async { Err(anyhow::anyhow!("down")) };
        assert!(cache.get_or_load("key", failed).await.is_err());
        assert!(cache.cached(&"key").is_err());

        assert_eq!(
            cache
                .get_or_load("key", async { Ok(Some(1)) })
                .await
                .unwrap(),
            Some(1)
        );
        tokio::time::advance(TTL - Duration::from_millis(1)).await;
        assert_eq!(cache.cached(&"key"), Ok(1));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(cache.cached(&"key").is_err(), "expired at the ttl");
    }
}
