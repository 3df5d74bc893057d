//! Fresh, migrated databases for tests: one per test, on PostgreSQL or SQLite.
//!
//! PostgreSQL is the server at `DATABASE_URL` (an admin URL, any database), else
//! `postgres://postgres@127.0.0.1:5432/postgres`. `make test` provides one either way.

use crate::{DatabaseSettings, SeaOrmStore};
use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;

/// A migrated database that lives as long as this value (SQLite) or the server (PostgreSQL).
pub struct TestDatabase {
    pub store: SeaOrmStore,
    /// The URL the store was opened with, for starting a server on the same database.
    pub url: String,
    _dir: Option<TempDir>,
}

/// The PostgreSQL server the tests use.
#[must_use]
pub fn postgres_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A new, empty, migrated PostgreSQL database named `latchkey_test_<uuid>`.
///
/// # Errors
/// When no PostgreSQL server is reachable (run the suite through `make test`).
pub async fn fresh_postgres() -> anyhow::Result<TestDatabase> {
    let url = empty_postgres().await?;
    let store = SeaOrmStore::connect(&DatabaseSettings::new(url.clone())).await?;
    store.migrate().await?;
    Ok(TestDatabase {
        store,
        url,
        _dir: None,
    })
}

/// The URL of a new PostgreSQL database named `latchkey_test_<uuid>`, with no tables yet.
///
/// # Errors
/// When no PostgreSQL server is reachable (run the suite through `make test`).
pub async fn empty_postgres() -> anyhow::Result<String> {
    let admin_url = postgres_admin_url();
    let admin = Database::connect(&admin_url).await.with_context(|| {
        format!("PostgreSQL is not reachable at {admin_url}: run the tests with `make test`")
    })?;
    let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .context("creating a test database")?;
    admin
        .close()
        .await
        .context("closing the admin connection")?;
    Ok(with_database(&admin_url, &name))
}

/// A new, migrated SQLite database in a temporary folder.
///
/// # Errors
/// When the folder or the database cannot be created.
pub async fn fresh_sqlite() -> anyhow::Result<TestDatabase> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let store = SeaOrmStore::connect(&DatabaseSettings::new(url.clone())).await?;
    store.migrate().await?;
    Ok(TestDatabase {
        store,
        url,
        _dir: Some(dir),
    })
}

impl TestDatabase {
    /// Everything stored, as text, to search for what must not be there: on PostgreSQL every
    /// row of every table; on SQLite the database files themselves.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn dump(&self) -> anyhow::Result<String> {
        use sea_orm::Statement;
        let mut out = String::new();
        if let Some(dir) = &self._dir {
            for entry in std::fs::read_dir(dir.path()).context("listing the SQLite files")? {
                let bytes = std::fs::read(entry.context("a SQLite file")?.path())?;
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            return Ok(out);
        }
        let db = self.store.connection();
        for table in ["applications", "users", "licenses", "devices", "bans"] {
            let sql = format!("SELECT CAST(t AS TEXT) AS row FROM {table} t");
            let statement = Statement::from_string(db.get_database_backend(), sql);
            for row in db
                .query_all_raw(statement)
                .await
                .context("dumping a table")?
            {
                out.push_str(&row.try_get::<String>("", "row").context("a dumped row")?);
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// A PostgreSQL cluster of its own, from the installed binaries, that a test may stop and
/// start again (to see what happens while the database is down). Deleted when dropped.
pub struct ThrowawayCluster {
    dir: TempDir,
    port: u16,
    pg_ctl: std::path::PathBuf,
}

impl ThrowawayCluster {
    /// Runs `initdb` and starts the cluster on a free port.
    ///
    /// # Errors
    /// When PostgreSQL's binaries are not installed, or the cluster does not start.
    pub fn start() -> anyhow::Result<Self> {
        let initdb = postgres_binary("initdb")?;
        let pg_ctl = postgres_binary("pg_ctl")?;
        let dir = tempfile::tempdir().context("creating the cluster folder")?;
        // initdb and postgres refuse to run as root; the folder then belongs to `postgres`.
        if running_as_root() {
            run(std::process::Command::new("chown")
                .arg("postgres")
                .arg(dir.path()))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let data = dir.path().join("data");
        run(as_postgres(&initdb)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust"]))?;
        let cluster = Self { dir, port, pg_ctl };
        cluster.start_again()?;
        Ok(cluster)
    }

    /// An admin URL of the cluster (its `postgres` database).
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server, disconnecting every client, and waits until it is down.
    ///
    /// # Errors
    /// When `pg_ctl` fails.
    pub fn stop(&self) -> anyhow::Result<()> {
        run(self.pg_ctl().args(["stop", "-w", "-m", "fast"]))
    }

    /// Starts the server again and waits until it accepts connections.
    ///
    /// # Errors
    /// When `pg_ctl` fails.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        run(self
            .pg_ctl()
            .args(["start", "-w", "-o", &options, "-l"])
            .arg(log))
    }

    fn pg_ctl(&self) -> std::process::Command {
        let mut command = as_postgres(&self.pg_ctl);
        command.arg("-D").arg(self.dir.path().join("data"));
        command
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl()
            .args(["stop", "-w", "-m", "immediate"])
            .output();
    }
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn as_postgres(program: &std::path::Path) -> std::process::Command {
    if running_as_root() {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        std::process::Command::new(program)
    }
}

fn run(command: &mut std::process::Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// `name` from PATH, else from the newest `/usr/lib/postgresql/*/bin`.
fn postgres_binary(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if let Some(path) = on_path {
        return Ok(path);
    }
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|path: &std::path::PathBuf| path.is_file());
    versions.sort();
    versions
        .pop()
        .with_context(|| format!("PostgreSQL's {name} is not installed"))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_options_kept() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres", "t"),
            "postgres://u@h:5/t"
        );
        assert_eq!(
            with_database("postgres://u@h:5/x?sslmode=disable", "t"),
            "postgres://u@h:5/t?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "t"), "postgres://u@h:5/t");
    }
}
