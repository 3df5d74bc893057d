//! Connecting, migrating and checking readiness.

use crate::endpoint_cache::EndpointCache;
use anyhow::Context as _;
use async_trait::async_trait;
use domain::errors::StoreUnavailable;
use domain::ports::Readiness;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::Error as SqlxError;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait as _,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Marks the failures that mean "the database is unreachable now" with
/// [`StoreUnavailable`], so the API answers 503 with `Retry-After`, not 500.
/// A raw statement written with PostgreSQL's `$n` placeholders, each used once and in
/// order, for either backend (SQLite takes `?`).
pub(crate) fn raw_statement(
    backend: DbBackend,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => (1..=values.len())
            .rev()
            .fold(sql.to_owned(), |sql, n| sql.replace(&format!("${n}"), "?")),
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

pub(crate) fn store_error(error: DbErr, what: &'static str) -> anyhow::Error {
    let unavailable = is_unavailable(&error);
    let error = anyhow::Error::new(error).context(what);
    if unavailable {
        error.context(StoreUnavailable)
    } else {
        error
    }
}

fn is_unavailable(error: &DbErr) -> bool {
    let sqlx = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx.as_ref() {
        SqlxError::Io(_) | SqlxError::PoolTimedOut | SqlxError::PoolClosed | SqlxError::Tls(_) => {
            true
        }
        SqlxError::Protocol(_) | SqlxError::WorkerCrashed => true,
        // PostgreSQL: 08 connection exception, 57 operator intervention (shutdown, statement
        // timeout), 53 insufficient resources. SQLite: busy or locked past the busy timeout.
        SqlxError::Database(db) => db.code().is_some_and(|code| {
            ["08", "57", "53"]
                .iter()
                .any(|class| code.starts_with(class))
                || matches!(code.as_ref(), "5" | "6" | "517" | "262")
        }),
        _ => false,
    }
}

/// Begins a transaction that writes. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads before it writes cannot upgrade once another
/// connection has committed in between, and SQLite refuses it at once (`SQLITE_BUSY_SNAPSHOT`)
/// instead of waiting on the busy timeout. PostgreSQL has no such mode and ignores it.
pub(crate) async fn begin_write(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// `.or_unavailable("what")`: `.context` for database results, with [`store_error`]'s marking.
pub(crate) trait DbResultExt<T> {
    fn or_unavailable(self, what: &'static str) -> anyhow::Result<T>;
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn or_unavailable(self, what: &'static str) -> anyhow::Result<T> {
        self.map_err(|error| store_error(error, what))
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://path`.
    pub url: String,
    pub max_connections: u32,
    /// How long a request may wait for a pooled connection, or for a new one.
    pub acquire_timeout: Duration,
    /// How long one PostgreSQL statement may run before the server cancels it.
    pub statement_timeout: Duration,
}

impl DatabaseSettings {
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// Any fixed number, the same in every instance: the key of the migration advisory lock.
const MIGRATION_LOCK: i64 = 0x004c_6174_6368_6b65; // "Latchke"

/// The storage adapter: every port over one pool.
#[derive(Debug, Clone)]
pub struct SeaOrmStore {
    pub(crate) db: DatabaseConnection,
    url: String,
    /// Woken when a commit queued webhook deliveries, so this replica's dispatcher sends
    /// them at once rather than at its next poll.
    pub(crate) deliveries_queued: Arc<Notify>,
    pub(crate) endpoints: Arc<EndpointCache>,
}

impl SeaOrmStore {
    /// Keeps each application's enabled webhook endpoints in memory for `ttl` (see
    /// `endpoint_cache`); by default they are read in every transaction that records events.
    #[must_use]
    pub fn cache_webhook_endpoints(mut self, ttl: Duration) -> Self {
        self.endpoints = Arc::new(EndpointCache::new(ttl));
        self
    }

    /// Notified after each commit that queued webhook deliveries in this process.
    #[must_use]
    pub fn deliveries_queued(&self) -> Arc<Notify> {
        self.deliveries_queued.clone()
    }

    /// Connects; for SQLite, creates the file (and its folder) when missing.
    ///
    /// # Errors
    /// When the URL is malformed or the database cannot be reached.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        if let Some(path) = sqlite_path(&settings.url)
            && let Some(dir) = Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the SQLite folder {}", dir.display()))?;
        }
        let statement_timeout_ms = settings.statement_timeout.as_millis();
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(settings.max_connections)
            .min_connections(0)
            .connect_timeout(settings.acquire_timeout)
            .acquire_timeout(settings.acquire_timeout)
            .sqlx_logging(false)
            .map_sqlx_postgres_opts(move |options| {
                options.options([("statement_timeout", statement_timeout_ms.to_string())])
            })
            // WAL lets readers run beside the one writer; writers queue on the busy timeout.
            .map_sqlx_sqlite_opts(|options| {
                options
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        let db = Database::connect(options)
            .await
            .context("connecting to the database")?;
        Ok(Self {
            db,
            url: settings.url.clone(),
            deliveries_queued: Arc::new(Notify::new()),
            endpoints: Arc::default(),
        })
    }

    /// Applies pending migrations. On PostgreSQL, under an advisory lock held by a session of
    /// its own: instances starting together take turns, and the later ones find nothing to do.
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.backend() != DbBackend::Postgres {
            return Migrator::up(&self.db, None)
                .await
                .context("applying migrations");
        }
        let mut options = ConnectOptions::new(self.url.clone());
        options.max_connections(1).sqlx_logging(false);
        let lock = Database::connect(options)
            .await
            .context("connecting to take the migration lock")?;
        let take = format!("SELECT pg_advisory_lock({MIGRATION_LOCK})");
        lock.execute_unprepared(&take)
            .await
            .context("taking the migration lock")?;
        let migrated = Migrator::up(&self.db, None)
            .await
            .context("applying migrations");
        let release = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})");
        let released = lock
            .execute_unprepared(&release)
            .await
            .context("releasing the migration lock");
        // Closing ends the session, which releases the lock even if the unlock failed.
        let _ = lock.close().await;
        migrated?;
        released.map(|_| ())
    }

    #[must_use]
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Connections open in the pool, and how many of them are idle: for the metrics.
    #[must_use]
    pub fn pool_connections(&self) -> (u32, usize) {
        match self.backend() {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        }
    }

    /// The pool, for tests that inspect what was stored.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[async_trait]
impl Readiness for SeaOrmStore {
    async fn check(&self) -> anyhow::Result<()> {
        self.db.ping().await.or_unavailable("pinging the database")
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_paths_are_read_from_both_url_forms() {
        assert_eq!(
            sqlite_path("sqlite://data/latchkey.db?mode=rwc"),
            Some("data/latchkey.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db"), Some("x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/db"), None);
    }
}
