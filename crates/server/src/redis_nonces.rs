//! Request nonces in Redis, when `limits.redis_url` is set: every instance that shares the
//! Redis shares the nonces, and Redis forgets each one when its window has passed. Unlike the
//! rate limiter, a Redis that cannot be reached refuses the request (503): letting it through
//! would let a replay through.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::NonceStore;
use domain::values::ApplicationId;

pub struct RedisNonces {
    connection: redis::aio::ConnectionManager,
}

impl RedisNonces {
    /// # Errors
    /// When the URL is malformed or Redis cannot be reached at start.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        Ok(Self {
            connection: redis::aio::ConnectionManager::new(client).await?,
        })
    }
}

#[async_trait]
impl NonceStore for RedisNonces {
    async fn record(
        &self,
        app: ApplicationId,
        nonce: &str,
        keep_until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let ttl_ms = (keep_until - Utc::now()).num_milliseconds().max(1);
        let mut connection = self.connection.clone();
        // SET NX: of any number of concurrent callers, one sets the key and gets OK.
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("latchkey:nonce:{app}:{nonce}"))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut connection)
            .await?;
        Ok(set.is_some())
    }

    async fn delete_expired(&self, _now: DateTime<Utc>, _batch: u64) -> anyhow::Result<u64> {
        // Each key expires by itself.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_nonce_is_accepted_once_across_connections() {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let (one, two) = (
            RedisNonces::connect(&url)
                .await
                .expect("Redis at REDIS_URL or 127.0.0.1:6379"),
            RedisNonces::connect(&url)
                .await
                .expect("Redis at REDIS_URL or 127.0.0.1:6379"),
        );
        let app = ApplicationId::generate();
        let until = Utc::now() + chrono::Duration::seconds(30);
        assert!(
            one.record(app, "nonce-0123456789abcdef", until)
                .await
                .unwrap()
        );
        assert!(
            !two.record(app, "nonce-0123456789abcdef", until)
                .await
                .unwrap()
        );
        let other_app = ApplicationId::generate();
        assert!(
            two.record(other_app, "nonce-0123456789abcdef", until)
                .await
                .unwrap()
        );
    }
}
