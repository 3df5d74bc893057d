//! Typed settings, layered: defaults → optional file (`--config`) → `LATCHKEY__SECTION__KEY`
//! environment variables. Secrets live in types that do not print.

use anyhow::Context as _;
use config::{Config, Environment, File};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub database: DatabaseSection,
    pub http: HttpSection,
    #[serde(default)]
    pub operator: OperatorSection,
    pub hashing: HashingSection,
    pub limits: LimitsSection,
    pub bans: BansSection,
    pub audit: AuditSection,
    pub webhooks: WebhooksSection,
    pub files: FilesSection,
    pub signing: SigningSection,
    #[serde(default)]
    pub secrets: SecretsSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub console: ConsoleSection,
    pub log: LogSection,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSection {
    /// `sqlite://path` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a database connection before failing.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL cancels a statement that runs longer (a stuck query is answered 503).
    pub statement_timeout_ms: u64,
    /// How long an application looked up by key is kept in memory; 0 turns the cache off.
    /// Changes made through another replica reach this one at most this much later.
    pub application_cache_ms: u64,
    /// How long an expired session's row is kept before the purge (every minute) deletes it.
    pub session_retention_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSection {
    pub bind: String,
    /// Comma-separated addresses or CIDR ranges whose `X-Forwarded-For` is believed.
    pub trusted_proxies: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// After SIGTERM, how long readiness answers 503 while requests are still served.
    pub drain_delay_ms: u64,
    /// Then, how long requests in flight get to finish before the process exits.
    pub shutdown_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BansSection {
    /// How long a ban the server makes by itself lasts (a cross-ban, or an address or device
    /// banned with its user); 0: forever. Bans the admin API makes last as asked.
    pub cross_ban_ttl_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditSection {
    /// How many days events are kept in the audit log; 0: forever.
    pub retention_days: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhooksSection {
    /// Lets endpoints target loopback, private, link-local and metadata addresses (for tests
    /// and private networks); off, such targets are refused when set and when sent to.
    pub allow_private_targets: bool,
    /// How often the dispatcher looks for due deliveries that another replica queued or that
    /// are due for a retry (this replica's own are sent at once).
    pub poll_interval_ms: u64,
    /// How long a claimed delivery is held by this replica; one it does not finish (it
    /// died) is sent again after this. Keep it above the 15 s send timeout.
    pub lease_seconds: u64,
    /// New events taken, or due deliveries claimed, per round, and sent at once, by this
    /// replica. One replica takes new events at a time, a round after another: the round's
    /// size sets how fast they are sent (docs/benchmarks.md, webhooks).
    pub concurrency: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FilesSection {
    /// Where files' bytes are stored: `file://<directory>` (relative to the working
    /// directory, or absolute as `file:///srv/latchkey/files`), or `s3://bucket/prefix` with
    /// the standard AWS credential environment variables. Replicas need a shared store.
    pub url: String,
    /// The S3 endpoint of a store that is not AWS (MinIO, R2, Ceph…); empty for AWS.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The largest file an upload may store; over it is `413`, and nothing is kept.
    pub max_size_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SigningSection {
    /// How far, in seconds, a signed request's `created` may be from this server's clock.
    pub max_skew_seconds: u64,
}

/// The master key that seals secrets at rest (see `master_key`); never printed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretsSection {
    /// Standard base64 of 32 bytes.
    pub master_key: Option<SecretString>,
    /// A file holding that base64 text.
    pub master_key_file: Option<String>,
    /// During a master-key rotation: the key before it.
    pub previous_master_key: Option<SecretString>,
    pub previous_master_key_file: Option<String>,
}

/// The vendor console at `/console` (see docs/console.md).
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSection {
    /// Serve the console; `false` answers 404 under `/console`.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

const fn enabled() -> bool {
    true
}

impl Default for ConsoleSection {
    fn default() -> Self {
        Self { enabled: true }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OperatorSection {
    /// Bearer token of the operator API; unset turns the operator API off.
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HashingSection {
    /// How many argon2 hashes may run at once; 0 means one per core.
    pub max_concurrent: usize,
    /// How long a sign-up may wait for a hashing slot before it is answered 503.
    pub max_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitsSection {
    /// `false` turns every rate limit off (benchmarks do).
    pub enabled: bool,
    pub requests_per_second: u32,
    pub sign_ups_per_hour: u32,
    pub failed_attempts_per_minute: u32,
    /// The IPv6 prefix length a client is counted and cross-banned by (IPv4: the address).
    pub ipv6_prefix: u8,
    /// Share the counters of all instances through this Redis; unset: per instance.
    pub redis_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricsSection {
    /// Where to serve `GET /metrics` (Prometheus text); unset: no metrics server.
    pub bind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSection {
    /// `pretty` or `json`.
    pub format: String,
    /// A `tracing` filter such as `info` or `latchkey=debug,info`.
    pub level: String,
}

impl Settings {
    /// Reads the layers; `file` is optional.
    ///
    /// # Errors
    /// When the file cannot be read or a value has the wrong type.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = Config::builder()
            .set_default("database.url", "sqlite://data/latchkey.db")?
            .set_default("database.max_connections", 10)?
            .set_default("database.acquire_timeout_ms", 3000)?
            .set_default("database.statement_timeout_ms", 5000)?
            .set_default("database.application_cache_ms", 1000)?
            .set_default("database.session_retention_secs", 3600)?
            .set_default("http.bind", "127.0.0.1:8080")?
            .set_default("http.trusted_proxies", "")?
            .set_default("http.workers", 0)?
            .set_default("http.drain_delay_ms", 1000)?
            .set_default("http.shutdown_timeout_secs", 30)?
            .set_default("hashing.max_concurrent", 0)?
            .set_default("hashing.max_wait_ms", 2000)?
            .set_default("limits.enabled", true)?
            .set_default("limits.requests_per_second", 20)?
            .set_default("limits.sign_ups_per_hour", 30)?
            .set_default("limits.failed_attempts_per_minute", 10)?
            .set_default("limits.ipv6_prefix", 64)?
            .set_default(
                "signing.max_skew_seconds",
                domain::Latchkey::DEFAULT_MAX_SIGNATURE_SKEW.num_seconds(),
            )?
            .set_default(
                "bans.cross_ban_ttl_seconds",
                domain::Latchkey::DEFAULT_CROSS_BAN_TTL.num_seconds(),
            )?
            .set_default("audit.retention_days", 180)?
            .set_default("webhooks.allow_private_targets", false)?
            .set_default("webhooks.poll_interval_ms", 1000)?
            .set_default("webhooks.lease_seconds", 60)?
            .set_default("webhooks.concurrency", 128)?
            .set_default("files.url", "file://./data/files")?
            .set_default("files.max_size_bytes", 512 * 1024 * 1024)?
            .set_default("log.format", "pretty")?
            .set_default("log.level", "info")?;
        if let Some(file) = file {
            builder = builder.add_source(File::from(file).required(true));
        }
        let settings: Self = builder
            .add_source(
                Environment::with_prefix("LATCHKEY")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .build()
            .context("reading the configuration")?
            .try_deserialize()
            .context("reading the configuration")?;
        anyhow::ensure!(
            matches!(settings.log.format.as_str(), "pretty" | "json"),
            "log.format must be pretty or json, not {:?}",
            settings.log.format
        );
        anyhow::ensure!(
            (1..=128).contains(&settings.limits.ipv6_prefix),
            "limits.ipv6_prefix must be between 1 and 128, not {}",
            settings.limits.ipv6_prefix
        );
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_serve_locally_from_sqlite_with_no_operator_api() {
        let settings = Settings::load(None).unwrap();
        assert_eq!(settings.http.bind, "127.0.0.1:8080");
        assert!(settings.database.url.starts_with("sqlite://data/"));
        assert!(settings.operator.token.is_none());
    }

    #[test]
    fn a_file_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(
            &path,
            "[http]\nbind = \"0.0.0.0:9000\"\n[operator]\ntoken = \"t0ken\"\n",
        )
        .unwrap();
        let settings = Settings::load(Some(&path)).unwrap();
        assert_eq!(settings.http.bind, "0.0.0.0:9000");
        assert_eq!(settings.operator.token.unwrap().expose_secret(), "t0ken");
        assert!(!format!("{:?}", Settings::load(Some(&path)).unwrap()).contains("t0ken"));
    }

    #[test]
    fn an_unknown_log_format_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(&path, "[log]\nformat = \"xml\"\n").unwrap();
        let error = Settings::load(Some(&path)).unwrap_err();
        assert!(error.to_string().contains("log.format"), "{error}");
    }
}
