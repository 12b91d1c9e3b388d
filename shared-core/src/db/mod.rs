//! Database plumbing shared by both servers: one binary speaks SQLite or PostgreSQL, chosen by the URL
//! scheme. [`DbConn`] is a diesel connection over either backend; [`DbPool`] is the one way to use it.

mod conn;
pub mod exec;
mod health;
mod pool;
mod url;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use diesel::r2d2::{Pool, PoolError, R2D2Connection};
use diesel::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use serde::{Deserialize, Serialize};

pub use self::conn::{ConnectionManager, DbConn, MultiBackend};
use self::health::Health;
pub use self::health::PoolEntry;
pub use self::pool::{BlockingError, DbPool};
pub use self::url::{redacted as redacted_url, DatabaseUrl};
use self::writer::Writer;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot create the folder for the SQLite database")]
    CreateFolder(#[source] std::io::Error),
    #[error("cannot connect to the database")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database statement failed")]
    Prepare(#[from] diesel::result::Error),
    #[error("connection pool")]
    Pool(#[from] PoolError),
    #[error("migrations failed")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot start the SQLite writer thread")]
    WriterThread(#[source] std::io::Error),
    #[error("database access failed")]
    Blocking(#[from] BlockingError),
}

/// `[database]` settings, the same for both servers. `Debug` redacts the URL's password.
#[derive(Clone, Deserialize, Serialize)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (relative or `sqlite:///absolute`) or `postgres://user@host/db`.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: String,
    /// Connections in the pool, which is also how many queries run at once; 0 means
    /// [`auto_pool_size`].
    pub pool_size: u32,
    /// How long a request may wait for a database connection (and SQLite's writer) before it gets 503.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    /// A pooled connection unused for longer is checked (one round trip) before it is used: a proxy or
    /// firewall may have cut it meanwhile. 0: never.
    #[serde(default = "default_idle_check_secs")]
    pub idle_check_secs: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redacted_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("idle_check_secs", &self.idle_check_secs)
            .finish()
    }
}

fn serialize_redacted_url<S: serde::Serializer>(url: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redacted_url(url))
}

fn default_acquire_timeout_ms() -> u64 {
    5_000
}

fn default_idle_check_secs() -> u64 {
    30
}

/// Two connections per CPU of this host (HikariCP's "cores × 2" rule). Every running query keeps a database
/// process busy; more queries at once than the CPUs can serve only queue inside the kernel's scheduler,
/// where a preempted backend stalls every request behind it. Measured with PostgreSQL on the same 2-CPU host
/// (BENCHMARKS.md): 4 connections served as many requests per second as 8 or 16, with a p99 of 4.7 ms
/// instead of 15 ms and 263 ms. A database on its own host, reached over a network, may warrant more.
pub fn auto_pool_size() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cpus * 2).unwrap_or(u32::MAX)
}

/// Builds the pool. Creates the SQLite file's folder when missing; an unknown scheme is an error.
pub fn build_pool(settings: &DatabaseSettings) -> Result<DbPool, DbError> {
    let url = DatabaseUrl::parse(&settings.url)?;
    if let DatabaseUrl::Sqlite(path) = &url {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(DbError::CreateFolder)?;
        }
    }
    let health = Arc::new(Health::new(Duration::from_secs(settings.idle_check_secs)));
    let manager = ConnectionManager::with_health(url.clone(), health.clone());
    let acquire_timeout = Duration::from_millis(settings.acquire_timeout_ms);
    // The writer's connection opens first and alone: a new SQLite file switches to WAL on its first
    // connection, and when the pool opens its connections at once two of them can both hold a shared lock
    // and want the exclusive one, which SQLite refuses one of at once ("database is locked").
    let writer = match manager.url() {
        DatabaseUrl::Sqlite(_) => {
            Some(Writer::start(manager.connect()?, acquire_timeout).map_err(DbError::WriterThread)?)
        }
        DatabaseUrl::Postgres(_) => None,
    };
    let pool = Pool::builder()
        .max_size(if settings.pool_size == 0 { auto_pool_size() } else { settings.pool_size })
        // A checkout must not cost a round trip on the hot path; suspect connections are checked instead.
        .test_on_check_out(false)
        // Every wait for a connection is bounded by the caller (acquire_timeout_ms); this bounds only the
        // pool's retries while the database is down, which wait up to half of it: a quarter of a second,
        // so that the pool reconnects that soon after the database is back.
        .connection_timeout(Duration::from_millis(500))
        // Connection failures are logged once per outage (Health), not once per retry.
        .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
        // The first use waits for a connection (bounded by acquire_timeout_ms) rather than this build.
        .build_unchecked(manager);
    let pool = DbPool::new(pool, url, health, writer, acquire_timeout);
    log::info!("database pool: {} connections", pool.size());
    Ok(pool)
}

/// Applies the embedded migrations of the pool's backend, as one write; returns how many ran.
pub async fn run_migrations(
    pool: &DbPool,
    sqlite: EmbeddedMigrations,
    postgres: EmbeddedMigrations,
) -> Result<usize, DbError> {
    let migrations = match pool.url() {
        DatabaseUrl::Sqlite(_) => sqlite,
        DatabaseUrl::Postgres(_) => postgres,
    };
    pool.write(move |conn| {
        if let DbConn::Postgres(pg) = conn {
            // Instances starting together on one database would each create the migrations table and apply
            // the same migrations; the second would fail. This lock, held until the write commits, makes
            // the later ones wait and then find nothing left to do.
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                .execute(pg)?;
        }
        conn.run_pending_migrations(migrations).map(|applied| applied.len()).map_err(DbError::Migration)
    })
    .await
}

/// The advisory lock key that serializes migrations ("migrate" in ASCII).
const MIGRATION_LOCK: i64 = 0x006d_6967_7261_7465;

/// A trivial round trip, for readiness checks.
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    conn.ping().map(drop)
}

/// Is this failure the database being unavailable for now (a connection lost under the query; SQLite's
/// lock held longer than the busy timeout) rather than a fault? Answered with 503, not 500.
pub fn is_unavailable_error(error: &diesel::result::Error) -> bool {
    use diesel::result::DatabaseErrorKind::{ClosedConnection, UnableToSendCommand};
    match error {
        diesel::result::Error::DatabaseError(ClosedConnection | UnableToSendCommand, _) => true,
        diesel::result::Error::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("database is locked") || message.contains("database table is locked")
        }
        _ => false,
    }
}

/// Is this the violation of a unique constraint (e.g. two requests racing for the same name)?
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a pool on a fresh SQLite file and hands it to `check`; the file goes with its folder.
    fn with_sqlite_pool(pool_size: u32, check: impl FnOnce(&DbPool)) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/pool.sqlite3", dir.path().display());
        check(
            &build_pool(&DatabaseSettings { url, pool_size, acquire_timeout_ms: 1_000, idle_check_secs: 30 }).unwrap(),
        );
    }

    #[test]
    fn pool_size_zero_means_two_per_cpu() {
        let cpus = std::thread::available_parallelism().unwrap().get() as u32;
        assert_eq!(auto_pool_size(), 2 * cpus);
        with_sqlite_pool(0, |pool| assert_eq!(pool.size(), 2 * cpus));
    }

    #[test]
    fn an_explicit_pool_size_is_kept() {
        with_sqlite_pool(3, |pool| assert_eq!(pool.size(), 3));
    }
}
