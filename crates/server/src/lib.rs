//! The `latchkey` binary's library half: configuration, telemetry, wiring. Nothing clever:
//! build the storage adapter, then the domain service, then the HTTP server.

pub mod application_cache;
pub mod ban_cache;
pub mod hashing;
pub mod housekeeping;
pub mod limits;
pub mod master_key;
pub mod metrics;
pub mod redis_nonces;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
mod ttl_cache;
pub mod webhook_dispatcher;
pub mod webhook_sender;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use adapters_blobs::{BlobSettings, ObjectBlobStore};
use adapters_console::ConsoleState;
use adapters_http::{HttpState, OperatorToken, TrustedProxies, log_request};
use adapters_postgres::{DatabaseSettings, SeaOrmStore};
use anyhow::Context as _;
use application_cache::CachedApplications;
use ban_cache::CachedBans;
use domain::Latchkey;
use domain::ports::{ApplicationStore, BanStore, NoLimits, NonceStore, RateLimiter, SystemClock};
use domain::services::{ApplicationOverview, OperatorAccounts, Ports};
use hashing::Argon2Hasher;
use limits::{Limits, MemoryLimiter, RedisLimiter};
use redis_nonces::RedisNonces;
use secrecy::ExposeSecret;
use settings::Settings;
use shutdown::{DrainAwareReadiness, Draining};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use webhook_dispatcher::Dispatcher;
use webhook_sender::HttpWebhookSender;

/// Connects to the database and applies pending migrations.
///
/// # Errors
/// When the database cannot be reached or a migration fails.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<SeaOrmStore> {
    let database = DatabaseSettings {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
        statement_timeout: Duration::from_millis(settings.database.statement_timeout_ms),
    };
    let store = SeaOrmStore::connect(&database)
        .await?
        .cache_webhook_endpoints(Duration::from_millis(
            settings.database.application_cache_ms,
        ));
    store.migrate().await?;
    Ok(store)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Where request nonces are kept: Redis when `limits.redis_url` is set (shared by every
/// instance that shares it), else the database (shared by every instance that shares it).
///
/// # Errors
/// When Redis is configured but cannot be reached.
async fn nonces(
    store: &Arc<SeaOrmStore>,
    settings: &Settings,
) -> anyhow::Result<Arc<dyn NonceStore>> {
    Ok(
        match settings
            .limits
            .redis_url
            .as_deref()
            .filter(|url| !url.is_empty())
        {
            Some(url) => Arc::new(
                RedisNonces::connect(url)
                    .await
                    .context("connecting to Redis (limits.redis_url)")?,
            ),
            None => store.clone(),
        },
    )
}

/// The domain service over the storage adapter, the argon2 hasher and the master key.
///
/// # Errors
/// When the hasher cannot be built, the master key cannot be read, or Redis is configured
/// but cannot be reached.
pub async fn service(store: &SeaOrmStore, settings: &Settings) -> anyhow::Result<Latchkey> {
    let master_key = Arc::new(master_key::load(&settings.secrets)?);
    service_with(store, settings, hasher(settings)?, master_key).await
}

/// The one bounded argon2id pool: the domain service and the console's accounts share it,
/// so the bound holds for the process.
///
/// # Errors
/// When the hasher cannot be built.
pub fn hasher(settings: &Settings) -> anyhow::Result<Arc<Argon2Hasher>> {
    let max_hashes = match settings.hashing.max_concurrent {
        0 => cores(),
        n => n,
    };
    Ok(Arc::new(Argon2Hasher::new(
        max_hashes,
        Duration::from_millis(settings.hashing.max_wait_ms),
    )?))
}

/// The console's operator accounts over the store, the shared hasher and limiter.
#[must_use]
pub fn operator_accounts(
    store: &SeaOrmStore,
    hasher: Arc<Argon2Hasher>,
    limiter: Arc<dyn RateLimiter>,
    master_key: Arc<domain::crypto::MasterKey>,
) -> OperatorAccounts {
    let store = Arc::new(store.clone());
    OperatorAccounts::new(
        store.clone(),
        store,
        hasher,
        limiter,
        Arc::new(SystemClock),
        master_key,
    )
}

async fn service_with(
    store: &SeaOrmStore,
    settings: &Settings,
    hasher: Arc<Argon2Hasher>,
    master_key: Arc<domain::crypto::MasterKey>,
) -> anyhow::Result<Latchkey> {
    let store = Arc::new(store.clone());
    // One lifetime for both caches: each is what another replica's change takes to show.
    let (applications, bans): (Arc<dyn ApplicationStore>, Arc<dyn BanStore>) =
        match settings.database.application_cache_ms {
            0 => (store.clone(), store.clone()),
            ms => {
                let ttl = Duration::from_millis(ms);
                (
                    Arc::new(CachedApplications::new(store.clone(), ttl)),
                    Arc::new(CachedBans::new(store.clone(), ttl)),
                )
            }
        };
    let cross_ban_ttl = match settings.bans.cross_ban_ttl_seconds {
        0 => None,
        secs => Some(chrono::Duration::seconds(
            i64::try_from(secs).context("bans.cross_ban_ttl_seconds is too large")?,
        )),
    };
    Ok(Latchkey::new(
        Ports {
            applications,
            users: store.clone(),
            licenses: store.clone(),
            devices: store.clone(),
            bans,
            events: store.clone(),
            sessions: store.clone(),
            variables: store.clone(),
            user_variables: store.clone(),
            nonces: nonces(&store, settings).await?,
            webhooks: store.clone(),
            webhook_sender: Arc::new(HttpWebhookSender::new(
                settings.webhooks.allow_private_targets,
            )?),
            files: store.clone(),
            blobs: Arc::new(
                ObjectBlobStore::open(&BlobSettings {
                    url: settings.files.url.clone(),
                    endpoint: settings
                        .files
                        .endpoint
                        .clone()
                        .filter(|endpoint| !endpoint.trim().is_empty()),
                })
                .context("files.url")?,
            ),
            unit_of_work: store,
            hasher,
            clock: Arc::new(SystemClock),
        },
        master_key,
    )
    .with_cross_ban_ttl(cross_ban_ttl)
    .with_ipv6_prefix(settings.limits.ipv6_prefix)
    .with_max_file_size(settings.files.max_size_bytes)
    .with_max_signature_skew(chrono::Duration::seconds(
        i64::try_from(settings.signing.max_skew_seconds)
            .context("signing.max_skew_seconds is too large")?,
    )))
}

/// The rate limiter the settings ask for: none, this process's counters, or Redis's.
///
/// # Errors
/// When Redis is configured but cannot be reached.
pub async fn limiter(settings: &Settings) -> anyhow::Result<Arc<dyn RateLimiter>> {
    let section = &settings.limits;
    if !section.enabled {
        return Ok(Arc::new(NoLimits));
    }
    let limits = Limits {
        requests_per_second: section.requests_per_second,
        sign_ups_per_hour: section.sign_ups_per_hour,
        failed_attempts_per_minute: section.failed_attempts_per_minute,
        ipv6_prefix: section.ipv6_prefix,
    };
    Ok(
        match section.redis_url.as_deref().filter(|url| !url.is_empty()) {
            Some(url) => Arc::new(
                RedisLimiter::connect(url, limits)
                    .await
                    .context("connecting to Redis (limits.redis_url)")?,
            ),
            None => Arc::new(MemoryLimiter::new(limits)),
        },
    )
}

/// A bound, not yet running, HTTP server.
pub struct Server {
    port: u16,
    server: actix_web::dev::Server,
    draining: Draining,
    drain_delay: Duration,
    metrics: Option<(actix_web::dev::Server, u16)>,
    service: Arc<Latchkey>,
    session_retention: chrono::Duration,
    /// `None`: events are kept forever.
    audit_retention: Option<chrono::Duration>,
    dispatcher: Dispatcher,
    /// The console's accounts, for purging expired console sessions; `None` when it is off.
    console_accounts: Option<OperatorAccounts>,
}

impl Server {
    /// Migrates, wires and binds (port 0 picks a free port).
    ///
    /// # Errors
    /// When the database, the bind address or a setting is unusable.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        // Settings first, so a typo fails before anything touches the database.
        let trusted_proxies = TrustedProxies::parse(&settings.http.trusted_proxies)
            .map_err(|error| anyhow::anyhow!("http.trusted_proxies: {error}"))?;
        let store = connect_and_migrate(settings).await?;
        let store_for_metrics = store.clone();
        let deliveries_queued = store.deliveries_queued();
        let draining = Draining::default();
        let master_key = Arc::new(master_key::load(&settings.secrets)?);
        let hasher = hasher(settings)?;
        let service =
            Arc::new(service_with(&store, settings, hasher.clone(), master_key.clone()).await?);
        let purging = service.clone();
        let limiter = limiter(settings).await?;
        let console = settings.console.enabled.then(|| {
            let proxies = trusted_proxies.clone();
            ConsoleState {
                accounts: operator_accounts(&store, hasher, limiter.clone(), master_key),
                operator: service.clone(),
                admin: service.clone(),
                user_admin: service.clone(),
                license_admin: service.clone(),
                users: service.clone(),
                overview: ApplicationOverview::new(Arc::new(store.clone()), Arc::new(SystemClock)),
                webhooks: service.clone(),
                files: service.clone(),
                client_ip: Arc::new(move |req: &actix_web::HttpRequest| {
                    let peer = req
                        .peer_addr()
                        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |addr| addr.ip());
                    let forwarded: Vec<&str> = req
                        .headers()
                        .get_all("x-forwarded-for")
                        .filter_map(|value| value.to_str().ok())
                        .collect();
                    proxies.client_ip(peer, &forwarded)
                }),
            }
        });
        let console_accounts = console.as_ref().map(|state| state.accounts.clone());
        let state = HttpState {
            integration: service.clone(),
            sign_in: service.clone(),
            admin: service.clone(),
            user_admin: service.clone(),
            webhooks: service.clone(),
            files: service.clone(),
            response_signing: service.clone(),
            request_signing: service.clone(),
            operator: service,
            limiter,
            readiness: Arc::new(DrainAwareReadiness {
                storage: Arc::new(store),
                draining: draining.clone(),
            }),
            // An empty token would let `Authorization: Bearer ` in: treat it as unset.
            operator_token: settings
                .operator
                .token
                .as_ref()
                .map(ExposeSecret::expose_secret)
                .filter(|token| !token.trim().is_empty())
                .map(OperatorToken::new),
            trusted_proxies,
        };
        let listener = TcpListener::bind(&settings.http.bind)
            .with_context(|| format!("binding {}", settings.http.bind))?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        // After binding, so that an instance that cannot serve changes no key.
        let keyed = purging.prepare_response_signing_keys().await?;
        if keyed > 0 {
            tracing::info!(
                applications = keyed,
                "response signing keys made or resealed"
            );
        }
        let keyed = purging.prepare_files_keys().await?;
        if keyed > 0 {
            tracing::info!(applications = keyed, "files keys made or resealed");
        }
        let resealed = purging.reseal_webhook_secrets().await?;
        if resealed > 0 {
            tracing::info!(endpoints = resealed, "webhook secrets resealed");
        }
        let workers = match settings.http.workers {
            0 => cores(),
            n => n,
        };
        let server = HttpServer::new(move || {
            let state = state.clone();
            let console = console.clone();
            App::new().wrap(from_fn(log_request)).configure(move |cfg| {
                if let Some(console) = &console {
                    console.configure(cfg);
                }
                state.configure(cfg);
            })
        })
        .workers(workers)
        // Signals are ours (see `shutdown`): readiness must turn 503 before accepting stops.
        .disable_signals()
        .shutdown_timeout(settings.http.shutdown_timeout_secs)
        .listen(listener)
        .context("listening")?
        .run();
        let metrics = match settings
            .metrics
            .bind
            .as_deref()
            .filter(|bind| !bind.is_empty())
        {
            Some(bind) => Some(metrics::serve(bind, store_for_metrics)?),
            None => None,
        };
        let retention = i64::try_from(settings.database.session_retention_secs)
            .context("database.session_retention_secs is too large")?;
        let audit_retention = match settings.audit.retention_days {
            0 => None,
            days => Some(chrono::Duration::days(
                i64::try_from(days).context("audit.retention_days is too large")?,
            )),
        };
        let dispatcher = Dispatcher {
            service: purging.clone(),
            queued: deliveries_queued,
            poll_interval: Duration::from_millis(settings.webhooks.poll_interval_ms.max(1)),
            lease: chrono::Duration::seconds(match settings.webhooks.lease_seconds {
                seconds @ 1..=86_400 => i64::try_from(seconds)?,
                _ => anyhow::bail!("webhooks.lease_seconds must be between 1 and 86400"),
            }),
            concurrency: settings.webhooks.concurrency.max(1),
        };
        Ok(Self {
            dispatcher,
            port,
            server,
            metrics,
            draining,
            drain_delay: Duration::from_millis(settings.http.drain_delay_ms),
            service: purging,
            session_retention: chrono::Duration::seconds(retention),
            audit_retention,
            console_accounts,
        })
    }

    /// Starts the timed purges: old sessions, expired bans and nonces, and events and finished
    /// webhook deliveries past the audit retention.
    fn purges(&self) -> Vec<tokio::task::JoinHandle<()>> {
        type Deleted = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<u64>> + Send>>;
        type Purge = Box<dyn Fn(Arc<Latchkey>) -> Deleted + Send + Sync>;
        let session_retention = self.session_retention;
        let mut jobs: Vec<(&'static str, Purge)> = vec![
            (
                "sessions",
                Box::new(move |service| {
                    Box::pin(async move { service.purge_expired_sessions(session_retention).await })
                }),
            ),
            (
                "bans",
                Box::new(|service| Box::pin(async move { service.purge_expired_bans().await })),
            ),
            (
                "request nonces",
                Box::new(|service| Box::pin(async move { service.purge_expired_nonces().await })),
            ),
        ];
        if let Some(retention) = self.audit_retention {
            jobs.push((
                "events",
                Box::new(move |service| {
                    Box::pin(async move { service.purge_old_events(retention).await })
                }),
            ));
            jobs.push((
                "webhook deliveries",
                Box::new(move |service| {
                    Box::pin(async move { service.purge_old_deliveries(retention).await })
                }),
            ));
        }
        let mut handles = Vec::new();
        if let Some(accounts) = self.console_accounts.clone() {
            handles.push(tokio::spawn(housekeeping::purge_periodically(
                housekeeping::PURGE_EVERY,
                "console sessions",
                move || {
                    let accounts = accounts.clone();
                    async move { accounts.purge_expired_sessions().await }
                },
            )));
        }
        handles.extend(jobs.into_iter().map(|(what, purge)| {
            let service = self.service.clone();
            tokio::spawn(housekeeping::purge_periodically(
                housekeeping::PURGE_EVERY,
                what,
                move || purge(service.clone()),
            ))
        }));
        handles
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics server's port, when `metrics.bind` is set.
    #[must_use]
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown::signal()).await
    }

    /// Serves until `stop` resolves, then drains: readiness 503, `drain_delay` more of
    /// serving, then no new connections while requests in flight finish.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut purges = self.purges();
        purges.push(tokio::spawn(self.dispatcher.run()));
        let (handle, draining, delay) = (self.server.handle(), self.draining, self.drain_delay);
        let (metrics, metrics_handle) = match self.metrics {
            Some((server, _)) => {
                let handle = server.handle();
                (Some(server), Some(handle))
            }
            None => (None, None),
        };
        tokio::spawn(async move {
            stop.await;
            draining.begin();
            tracing::info!(
                drain_delay_ms = delay.as_millis(),
                "shutting down: draining"
            );
            tokio::time::sleep(delay).await;
            handle.stop(true).await;
            if let Some(metrics) = metrics_handle {
                metrics.stop(false).await;
            }
        });
        // Both servers are polled here, in the server's own task.
        let metrics = async move {
            if let Some(metrics) = metrics
                && let Err(error) = metrics.await
            {
                tracing::error!(%error, "the metrics server failed");
            }
        };
        let (served, ()) = tokio::join!(self.server, metrics);
        for purge in purges {
            purge.abort();
        }
        served
    }
}
