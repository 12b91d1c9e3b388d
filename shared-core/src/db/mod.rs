//! Database plumbing shared by both servers: one binary speaks SQLite or PostgreSQL, chosen by the URL
//! scheme. Connections come from an r2d2 pool of [`DbConn`]; queries are written once and compiled for
//! each backend by [`db_run!`](crate::db_run).

mod url;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use serde::Deserialize;

pub use self::url::DatabaseUrl;
use self::writer::Writer;

/// A live connection to either backend.
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// The connection pool for reads (and PostgreSQL's writes), plus SQLite's writer thread: SQLite admits one
/// writer at a time, and one thread running the writes back to back beats threads taking turns on a lock.
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<ConnectionManager>,
    writer: Option<Arc<Writer>>,
    /// One permit per pooled connection, handed out first come, first served. Requests queue here, on the
    /// async side, rather than as blocked threads racing on r2d2's condition variable, which is not fair
    /// and lets an unlucky request wait for seconds under load.
    permits: Arc<tokio::sync::Semaphore>,
}

impl DbPool {
    pub fn get(&self) -> Result<PooledConn, r2d2::Error> {
        self.pool.get()
    }

    /// How many connections the pool holds (and so how many queries run at once; SQLite's writer has its
    /// own connection besides).
    pub fn size(&self) -> u32 {
        self.pool.max_size()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot create the folder for the SQLite database: {0}")]
    CreateFolder(#[source] std::io::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot prepare the connection: {0}")]
    Prepare(#[from] diesel::result::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("cannot start the SQLite writer thread: {0}")]
    WriterThread(#[source] std::io::Error),
}

/// `[database]` settings, the same for both servers.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (relative or `sqlite:///absolute`) or `postgres://user@host/db`.
    pub url: String,
    /// Connections in the pool, which is also how many queries run at once; 0 means
    /// [`auto_pool_size`].
    pub pool_size: u32,
    /// How long a request may wait for a pooled connection before it fails.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
}

fn default_acquire_timeout_ms() -> u64 {
    5_000
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

/// Opens connections for r2d2 and prepares SQLite ones (WAL, busy timeout, foreign keys).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    pub fn connect(&self) -> Result<DbConn, DbError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the one writer; busy_timeout makes writers queue instead of
                // failing with SQLITE_BUSY; synchronous=NORMAL is durable in WAL mode except on power loss.
                // busy_timeout first: switching a new file to WAL takes a lock that other pooled
                // connections opening at the same moment must wait for, not fail on.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;",
                )?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConn::Postgres(PgConnection::establish(url)?)),
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        ConnectionManager::connect(self)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        match conn {
            DbConn::Sqlite(c) => c.ping().map(drop).map_err(DbError::Prepare),
            DbConn::Postgres(c) => c.ping().map(drop).map_err(DbError::Prepare),
        }
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        match conn {
            DbConn::Sqlite(c) => c.is_broken(),
            DbConn::Postgres(c) => c.is_broken(),
        }
    }
}

/// Builds the pool. Creates the SQLite file's folder when missing; an unknown scheme is an error.
pub fn build_pool(settings: &DatabaseSettings) -> Result<DbPool, DbError> {
    let url = DatabaseUrl::parse(&settings.url)?;
    let sqlite = matches!(url, DatabaseUrl::Sqlite(_));
    if let DatabaseUrl::Sqlite(path) = &url {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(DbError::CreateFolder)?;
        }
    }
    let manager = ConnectionManager::new(url);
    let acquire_timeout = Duration::from_millis(settings.acquire_timeout_ms);
    // The writer's connection opens first and alone: a new SQLite file switches to WAL on its first
    // connection, and when the pool opens its connections at once two of them can both hold a shared lock
    // and want the exclusive one, which SQLite refuses one of at once ("database is locked").
    let writer = if sqlite {
        Some(Arc::new(Writer::start(manager.connect()?, acquire_timeout).map_err(DbError::WriterThread)?))
    } else {
        None
    };
    let pool = r2d2::Pool::builder()
        .max_size(if settings.pool_size == 0 { auto_pool_size() } else { settings.pool_size })
        // A checkout must not cost a round trip on the hot path; broken connections are still detected.
        .test_on_check_out(false)
        .connection_timeout(acquire_timeout)
        .build(manager)?;
    let permits = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
    let pool = DbPool { pool, writer, permits };
    log::info!("database pool: {} connections", pool.size());
    Ok(pool)
}

/// Applies the embedded migrations of the connection's backend; returns how many ran.
pub fn run_migrations(
    conn: &mut DbConn,
    sqlite: EmbeddedMigrations,
    postgres: EmbeddedMigrations,
) -> Result<usize, DbError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(sqlite).map(|v| v.len()),
        DbConn::Postgres(c) => c.run_pending_migrations(postgres).map(|v| v.len()),
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// Why database work could not run; each server maps it into its own error type.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("the database is busy: a write waited more than {0:?}")]
    Busy(Duration),
    #[error("database task failed: {0}")]
    Task(String),
}

impl BlockingError {
    /// Overload (try again later, 503) rather than a fault (500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Pool(_) | Self::Busy(_))
    }
}

/// Runs read-only `work` with a pooled connection on the blocking pool: the async workers never wait on
/// the database. The connection goes back to the pool as soon as `work` returns.
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<BlockingError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    on_blocking_pool(pool, work).await
}

/// Like [`run`] for `work` that writes. On SQLite it is queued for the writer thread and runs in a transaction
/// (committed together with the writes queued beside it); if it returns an error, its writes are undone.
pub async fn write<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<BlockingError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    match &pool.writer {
        Some(writer) => writer.run(work).await,
        None => on_blocking_pool(pool, work).await,
    }
}

async fn on_blocking_pool<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<BlockingError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let permit = pool.permits.clone().acquire_owned().await.map_err(|e| BlockingError::Task(e.to_string()))?;
    let pool = pool.pool.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut conn = pool.get().map_err(BlockingError::from)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| BlockingError::Task(e.to_string()))?
}

/// A trivial round trip, for readiness checks.
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.ping().map(drop),
        DbConn::Postgres(c) => c.ping().map(drop),
    }
}

/// Is this the violation of a unique constraint (e.g. two requests racing for the same name)?
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Runs `$body` with `$c` bound to the concrete connection, compiled once per backend.
///
/// ```ignore
/// let user = db_run!(conn, c => users::table.find(id).first::<User>(c))?;
/// ```
#[macro_export]
macro_rules! db_run {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut *$conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgres($c) => $body,
        }
    };
}

/// Runs `work` inside a write transaction, committed when it returns `Ok`, rolled back on `Err` or panic.
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, so a writer in another process (the admin CLI)
/// queues on the busy timeout instead of failing when a read lock cannot be upgraded to a write lock.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

    match conn {
        // Inside the SQLite writer's group commit, a savepoint.
        DbConn::Sqlite(c) => match in_transaction(c)? {
            true => AnsiTransactionManager::begin_transaction(c)?,
            false => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        },
        DbConn::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let rollback = |conn: &mut DbConn| {
        let _ = match conn {
            DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
            DbConn::Postgres(c) => AnsiTransactionManager::rollback_transaction(c),
        };
    };
    match catch_unwind(AssertUnwindSafe(|| work(conn))) {
        Ok(Ok(value)) => {
            let committed = match conn {
                DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
                DbConn::Postgres(c) => AnsiTransactionManager::commit_transaction(c),
            };
            if let Err(e) = committed {
                rollback(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Ok(Err(e)) => {
            rollback(conn);
            Err(e)
        }
        Err(panic) => {
            rollback(conn);
            resume_unwind(panic)
        }
    }
}

/// Is `conn` inside a transaction already (the SQLite writer's group commit)?
fn in_transaction(conn: &mut SqliteConnection) -> diesel::QueryResult<bool> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    Ok(AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a pool on a fresh SQLite file and hands it to `check`; the file goes with its folder.
    fn with_sqlite_pool(pool_size: u32, check: impl FnOnce(&DbPool)) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/pool.sqlite3", dir.path().display());
        check(&build_pool(&DatabaseSettings { url, pool_size, acquire_timeout_ms: 1_000 }).unwrap());
    }

    #[test]
    fn pool_size_zero_means_two_per_cpu() {
        let cpus = std::thread::available_parallelism().unwrap().get() as u32;
        assert_eq!(auto_pool_size(), 2 * cpus);
        with_sqlite_pool(0, |pool| {
            assert_eq!(pool.size(), 2 * cpus);
            assert_eq!(pool.permits.available_permits(), 2 * cpus as usize);
        });
    }

    #[test]
    fn an_explicit_pool_size_is_kept() {
        with_sqlite_pool(3, |pool| {
            assert_eq!(pool.size(), 3);
            assert_eq!(pool.permits.available_permits(), 3);
        });
    }
}
