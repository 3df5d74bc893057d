//! The rate limiters: fixed windows counted per (limit, application, client network), in this
//! process's memory or, with `limits.redis_url`, in Redis so that every instance shares them.
//! A client network is an IPv4 address or an IPv6 `/limits.ipv6_prefix` (64): one IPv6
//! subscriber holds a whole /64, so counting each /128 on its own limits nobody.

use async_trait::async_trait;
use domain::ports::{Limited, RateLimit, RateLimiter};
use domain::values::{ApplicationId, ClientIp, IpBanRange};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many events each window allows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub requests_per_second: u32,
    pub sign_ups_per_hour: u32,
    pub failed_attempts_per_minute: u32,
    /// The IPv6 prefix length a client is counted by; IPv4 counts each address.
    pub ipv6_prefix: u8,
}

impl Limits {
    /// The one place an address becomes what every limit counts it as.
    fn network(&self, ip: ClientIp) -> IpBanRange {
        IpBanRange::network_of(ip, self.ipv6_prefix)
    }

    fn of(&self, limit: RateLimit) -> (u32, Duration) {
        match limit {
            RateLimit::Requests => (self.requests_per_second, Duration::from_secs(1)),
            RateLimit::SignUps => (self.sign_ups_per_hour, Duration::from_secs(3600)),
            RateLimit::FailedAttempts => (self.failed_attempts_per_minute, Duration::from_secs(60)),
        }
    }
}

/// Who a counter counts: a client network, or an account (a canonical username).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Network(IpBanRange),
    Account(String),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Network(range) => f.write_str(&range.prefix()),
            Self::Account(name) => write!(f, "account:{name}"),
        }
    }
}

type Key = (RateLimit, ApplicationId, Subject);

/// Counters in this process: each instance limits on its own.
pub struct MemoryLimiter {
    limits: Limits,
    windows: Mutex<HashMap<Key, (Instant, u32)>>,
}

impl MemoryLimiter {
    /// Above this many counters, expired ones are dropped, so memory stays bounded.
    const PRUNE_ABOVE: usize = 100_000;

    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Adds `add` to the counter; its count in the window, and whether that is over.
    fn apply(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        subject: Subject,
        add: u32,
    ) -> (u32, Result<(), Limited>) {
        let (allowed, window) = self.limits.of(limit);
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return (0, Ok(()));
        };
        if windows.len() > Self::PRUNE_ABOVE {
            windows.retain(|(limit, _, _), (started, _)| {
                now.duration_since(*started) < self.limits.of(*limit).1
            });
        }
        let entry = windows.entry((limit, app, subject)).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(add);
        let over = if add > 0 {
            entry.1 > allowed
        } else {
            entry.1 >= allowed
        };
        if over {
            let retry_after = window.saturating_sub(now.duration_since(entry.0));
            return (entry.1, Err(Limited { retry_after }));
        }
        (entry.1, Ok(()))
    }
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    async fn count(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        ip: ClientIp,
    ) -> Result<(), Limited> {
        self.apply(limit, app, Subject::Network(self.limits.network(ip)), 1)
            .1
    }

    async fn check(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        ip: ClientIp,
    ) -> Result<(), Limited> {
        self.apply(limit, app, Subject::Network(self.limits.network(ip)), 0)
            .1
    }

    async fn count_account_failure(&self, app: ApplicationId, account: &str) {
        let account = Subject::Account(account.to_owned());
        let _ = self.apply(RateLimit::FailedAttempts, app, account, 1);
    }

    async fn check_account(
        &self,
        app: ApplicationId,
        account: &str,
        ip: ClientIp,
    ) -> Result<(), Limited> {
        let account = Subject::Account(account.to_owned());
        let (_, verdict) = self.apply(RateLimit::FailedAttempts, app, account, 0);
        let address = Subject::Network(self.limits.network(ip));
        let (failed_here, _) = self.apply(RateLimit::FailedAttempts, app, address, 0);
        if failed_here == 0 { Ok(()) } else { verdict }
    }
}

/// Counters in Redis, shared by every instance that uses the same Redis. When Redis cannot
/// be reached the request is let through (and logged): availability over strictness.
pub struct RedisLimiter {
    limits: Limits,
    connection: redis::aio::ConnectionManager,
    script: redis::Script,
}

/// Adds `ARGV[2]` to the counter, starting its window of `ARGV[1]` ms when it is new;
/// returns the count and the milliseconds left in the window.
const COUNT_SCRIPT: &str = r"
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
";

impl RedisLimiter {
    /// # Errors
    /// When the URL is malformed or Redis cannot be reached at start.
    pub async fn connect(url: &str, limits: Limits) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let connection = redis::aio::ConnectionManager::new(client).await?;
        Ok(Self {
            limits,
            connection,
            script: redis::Script::new(COUNT_SCRIPT),
        })
    }

    /// Adds `add` to the counter; its count in the window, and whether that is over.
    async fn apply(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        subject: Subject,
        add: u32,
    ) -> (u64, Result<(), Limited>) {
        let (allowed, window) = self.limits.of(limit);
        let key = format!("latchkey:limit:{limit:?}:{app}:{subject}");
        let mut connection = self.connection.clone();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let answer: redis::RedisResult<(u64, i64)> = self
            .script
            .key(key)
            .arg(window_ms)
            .arg(add)
            .invoke_async(&mut connection)
            .await;
        let (count, left_ms) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, "rate limiter unavailable: letting the request through");
                return (0, Ok(()));
            }
        };
        let over = if add > 0 {
            count > u64::from(allowed)
        } else {
            count >= u64::from(allowed)
        };
        if over {
            let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
            return (count, Err(Limited { retry_after: left }));
        }
        (count, Ok(()))
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn count(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        ip: ClientIp,
    ) -> Result<(), Limited> {
        let network = Subject::Network(self.limits.network(ip));
        self.apply(limit, app, network, 1).await.1
    }

    async fn check(
        &self,
        limit: RateLimit,
        app: ApplicationId,
        ip: ClientIp,
    ) -> Result<(), Limited> {
        let network = Subject::Network(self.limits.network(ip));
        self.apply(limit, app, network, 0).await.1
    }

    async fn count_account_failure(&self, app: ApplicationId, account: &str) {
        let account = Subject::Account(account.to_owned());
        let _ = self.apply(RateLimit::FailedAttempts, app, account, 1).await;
    }

    async fn check_account(
        &self,
        app: ApplicationId,
        account: &str,
        ip: ClientIp,
    ) -> Result<(), Limited> {
        let account = Subject::Account(account.to_owned());
        let (_, verdict) = self.apply(RateLimit::FailedAttempts, app, account, 0).await;
        let address = Subject::Network(self.limits.network(ip));
        let (failed_here, _) = self.apply(RateLimit::FailedAttempts, app, address, 0).await;
        if failed_here == 0 { Ok(()) } else { verdict }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            requests_per_second: 100,
            sign_ups_per_hour: 2,
            failed_attempts_per_minute: 3,
            ipv6_prefix: 64,
        }
    }

    async fn exercise(limiter: &dyn RateLimiter) {
        let (app, ip) = (
            ApplicationId::generate(),
            ClientIp::parse("198.51.100.1").unwrap(),
        );
        let other_ip = ClientIp::parse("198.51.100.2").unwrap();
        assert!(limiter.count(RateLimit::SignUps, app, ip).await.is_ok());
        assert!(limiter.count(RateLimit::SignUps, app, ip).await.is_ok());
        let refused = limiter
            .count(RateLimit::SignUps, app, ip)
            .await
            .unwrap_err();
        assert!(
            refused.retry_after > Duration::from_secs(3500),
            "{refused:?}"
        );
        assert!(
            limiter
                .count(RateLimit::SignUps, app, other_ip)
                .await
                .is_ok(),
            "per client IP"
        );
        assert!(
            limiter
                .count(RateLimit::SignUps, ApplicationId::generate(), ip)
                .await
                .is_ok(),
            "per application"
        );

        for _ in 0..3 {
            assert!(
                limiter
                    .check(RateLimit::FailedAttempts, app, ip)
                    .await
                    .is_ok()
            );
            let _ = limiter.count(RateLimit::FailedAttempts, app, ip).await;
        }
        assert!(
            limiter
                .check(RateLimit::FailedAttempts, app, ip)
                .await
                .is_err(),
            "three failures use up the minute"
        );
        assert!(
            limiter
                .check(RateLimit::FailedAttempts, app, other_ip)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn memory_counters_limit_per_kind_application_and_address() {
        exercise(&MemoryLimiter::new(limits())).await;
    }

    async fn exercise_ipv6_networks(limiter: &dyn RateLimiter) {
        let app = ApplicationId::generate();
        let same_64 = |n: u32| ClientIp::parse(&format!("2001:db8:7:7:{n:x}::1")).unwrap();
        for n in 1..=2 {
            assert!(
                limiter
                    .count(RateLimit::SignUps, app, same_64(n))
                    .await
                    .is_ok()
            );
        }
        assert!(
            limiter
                .count(RateLimit::SignUps, app, same_64(3))
                .await
                .is_err(),
            "three addresses of one /64 are one client"
        );
        let next_64 = ClientIp::parse("2001:db8:7:8::1").unwrap();
        assert!(
            limiter
                .count(RateLimit::SignUps, app, next_64)
                .await
                .is_ok()
        );
        let v4 = |n: u8| ClientIp::parse(&format!("198.51.100.{n}")).unwrap();
        for n in 1..=4 {
            assert!(
                limiter.count(RateLimit::SignUps, app, v4(n)).await.is_ok(),
                "IPv4 counts each address"
            );
        }
    }

    #[tokio::test]
    async fn memory_counters_count_an_ipv6_64_as_one_client() {
        exercise_ipv6_networks(&MemoryLimiter::new(limits())).await;
    }

    async fn exercise_accounts(limiter: &dyn RateLimiter) {
        let app = ApplicationId::generate();
        let guesser = |n: u8| ClientIp::parse(&format!("203.0.113.{n}")).unwrap();
        for n in 1..=3 {
            assert!(
                limiter
                    .check_account(app, "owner", guesser(n))
                    .await
                    .is_ok()
            );
            let _ = limiter
                .count(RateLimit::FailedAttempts, app, guesser(n))
                .await;
            limiter.count_account_failure(app, "owner").await;
        }
        assert!(
            limiter
                .check_account(app, "owner", guesser(1))
                .await
                .is_err(),
            "an address that failed is refused once the account's failures reach the limit"
        );
        let clean = ClientIp::parse("192.0.2.50").unwrap();
        assert!(
            limiter.check_account(app, "owner", clean).await.is_ok(),
            "the owner on a clean address is let through"
        );
        assert!(
            limiter
                .check_account(app, "other", guesser(1))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn memory_counters_limit_failures_per_account_but_not_from_clean_addresses() {
        exercise_accounts(&MemoryLimiter::new(limits())).await;
    }

    #[tokio::test]
    async fn a_prefix_of_128_counts_each_ipv6_address() {
        let limiter = MemoryLimiter::new(Limits {
            ipv6_prefix: 128,
            ..limits()
        });
        let app = ApplicationId::generate();
        for n in 1..=4 {
            let ip = ClientIp::parse(&format!("2001:db8::{n}")).unwrap();
            assert!(limiter.count(RateLimit::SignUps, app, ip).await.is_ok());
        }
    }

    #[tokio::test]
    async fn redis_counters_limit_the_same_way() {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let limiter = RedisLimiter::connect(&url, limits())
            .await
            .expect("Redis at REDIS_URL or 127.0.0.1:6379");
        exercise(&limiter).await;
        exercise_ipv6_networks(&limiter).await;
        exercise_accounts(&limiter).await;
    }
}
