//! The one way to reach the database: [`DbPool::read`] and [`DbPool::write`]. Both run the work off the
//! async workers; writes are transactions on both backends. Start-up, the admin CLI, the servers and the
//! tests all go through here, so every caller queues for the same permits and every SQLite write goes
//! through the same writer thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::r2d2::{Pool, PoolError, PooledConnection};
use diesel::Connection;
use tokio::sync::Semaphore;

use super::conn::{ConnectionManager, DbConn};
use super::health::Health;
use super::url::DatabaseUrl;
use super::writer::Writer;

/// The connection pool for reads (and PostgreSQL's writes), plus SQLite's writer thread: SQLite admits one
/// writer at a time, and one thread running the writes back to back beats threads taking turns on a lock.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<ConnectionManager>,
    writer: Option<Arc<Writer>>,
    /// One permit per pooled connection, handed out first come, first served. Requests queue here, on the
    /// async side, rather than as blocked threads racing on r2d2's condition variable, which is not fair
    /// and lets an unlucky request wait for seconds under load.
    permits: Arc<Semaphore>,
    /// The longest a caller waits for a permit and a connection, together.
    acquire_timeout: Duration,
    url: Arc<DatabaseUrl>,
    health: Arc<Health>,
    metrics: PoolMetrics,
}

/// Handles taken once, when the pool is built: recording through them costs an atomic operation, not a
/// lookup. A pool built before the recorder is installed records nothing.
#[derive(Clone)]
struct PoolMetrics {
    in_use: metrics::Gauge,
    acquire_wait: metrics::Histogram,
}

impl PoolMetrics {
    fn new() -> Self {
        Self {
            in_use: metrics::gauge!("db_pool_connections_in_use"),
            acquire_wait: metrics::histogram!("db_pool_acquire_wait_seconds"),
        }
    }
}

/// Why database work could not run; each server maps it into its own error type.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError {
    #[error("no database connection could be had")]
    Pool(#[from] PoolError),
    #[error("the database is busy: no connection within {0:?}")]
    Busy(Duration),
    #[error("the database cannot be reached: connecting failed a moment ago")]
    Unreachable,
    #[error("the connection to the database was lost")]
    ConnectionLost,
    #[error("the database task panicked")]
    Panicked(#[source] tokio::task::JoinError),
    #[error("the SQLite writer has stopped")]
    WriterStopped,
    #[error("the SQLite writer dropped the write (it panicked, or no savepoint could isolate it)")]
    WriterDropped,
    #[error("the group commit failed")]
    CommitFailed(#[source] Arc<diesel::result::Error>),
}

impl BlockingError {
    /// Overload or an unreachable database (try again later, 503) rather than a fault (500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Pool(_) | Self::Busy(_) | Self::Unreachable | Self::ConnectionLost)
    }
}

impl DbPool {
    pub(super) fn new(
        pool: Pool<ConnectionManager>,
        url: DatabaseUrl,
        health: Arc<Health>,
        writer: Option<Writer>,
        acquire_timeout: Duration,
    ) -> Self {
        let permits = Arc::new(Semaphore::new(pool.max_size() as usize));
        let metrics = PoolMetrics::new();
        Self { pool, writer: writer.map(Arc::new), permits, acquire_timeout, url: Arc::new(url), health, metrics }
    }

    /// How many connections the pool holds (and so how many queries run at once; SQLite's writer has its
    /// own connection besides).
    pub fn size(&self) -> u32 {
        self.pool.max_size()
    }

    /// The backend this pool speaks.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs read-only `work` with a pooled connection on the blocking pool: the async workers never wait on
    /// the database. The connection goes back to the pool as soon as `work` returns.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BlockingError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        self.on_blocking_pool(work).await
    }

    /// Runs `work` that writes, as one transaction: everything it wrote is kept when it returns `Ok` and
    /// undone when it returns `Err` or panics. On SQLite it is queued for the writer thread (and committed
    /// together with the writes queued beside it, in its own savepoint); on PostgreSQL it runs on a pooled
    /// connection inside `BEGIN ... COMMIT`.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BlockingError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(work).await,
            None => self.on_blocking_pool(move |conn| conn.transaction(work)).await,
        }
    }

    async fn on_blocking_pool<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BlockingError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        let asked = Instant::now();
        let deadline = asked + self.acquire_timeout;
        let permit = tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| BlockingError::Busy(self.acquire_timeout))?
            // The semaphore is never closed.
            .map_err(|_| BlockingError::Busy(self.acquire_timeout))?;
        let (pool, health, metrics) = (self.pool.clone(), self.health.clone(), self.metrics.clone());
        let job = move || {
            let _permit = permit;
            let mut entry = check_out(&pool, &health, deadline)?;
            metrics.acquire_wait.record(asked.elapsed());
            metrics.in_use.increment(1);
            let _in_use = InUse(&metrics.in_use);
            let result = work(&mut entry.conn);
            if result.is_err() && entry.lost_after_error(&health) {
                // Whatever the work reported, the cause is the lost connection: "unavailable", not a fault.
                return Err(BlockingError::ConnectionLost.into());
            }
            result
        };
        // In the request's context: a line logged there (the database unreachable) names the request.
        #[cfg(feature = "actix")]
        let job = crate::request_context::carry(job);
        tokio::task::spawn_blocking(job).await.map_err(BlockingError::Panicked)?
    }
}

/// Counts a checked-out connection as in use until it is dropped, even when the work panics.
struct InUse<'a>(&'a metrics::Gauge);

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.0.decrement(1);
    }
}

/// A connection that works, before `deadline`: an idle one when there is one, else a new one, unless
/// connecting failed a moment ago. Suspect connections are checked first; dead ones are dropped.
fn check_out(
    pool: &Pool<ConnectionManager>,
    health: &Health,
    deadline: Instant,
) -> Result<PooledConnection<ConnectionManager>, BlockingError> {
    // Every pooled connection may turn out dead, then one more, new.
    for _ in 0..=pool.max_size() {
        let mut entry = match pool.try_get() {
            Some(entry) => entry,
            None if health.recently_unreachable() => return Err(BlockingError::Unreachable),
            None => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                pool.get_timeout(remaining.max(Duration::from_millis(1)))?
            }
        };
        if entry.check_out(health) {
            return Ok(entry);
        }
        // Dead: dropping it here hands it back to r2d2, which sees it lost and discards it.
    }
    Err(BlockingError::ConnectionLost)
}

impl DbPool {
    /// The number of connections found dead so far (for tests and diagnostics).
    pub fn connections_lost(&self) -> u64 {
        self.health.losses()
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{build_pool, DatabaseSettings};
    use crate::testing::{Backend, TestDatabase};

    #[derive(Debug)]
    #[allow(dead_code, reason = "the causes are shown by Debug when a test fails")]
    enum Failed {
        Refused,
        Db(diesel::result::Error),
        Blocking(BlockingError),
    }

    impl From<diesel::result::Error> for Failed {
        fn from(error: diesel::result::Error) -> Self {
            Self::Db(error)
        }
    }

    impl From<BlockingError> for Failed {
        fn from(error: BlockingError) -> Self {
            Self::Blocking(error)
        }
    }

    fn backends() -> Vec<Backend> {
        let mut backends = vec![Backend::Sqlite];
        if crate::testing::postgres_available() {
            backends.push(Backend::Postgres);
        }
        backends
    }

    fn pool(db: &TestDatabase, pool_size: u32, acquire_timeout_ms: u64) -> DbPool {
        build_pool(&DatabaseSettings { url: db.url.clone(), pool_size, acquire_timeout_ms, idle_check_secs: 30 })
            .unwrap()
    }

    fn count(conn: &mut DbConn) -> Result<i64, Failed> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result::<Count>(conn)?.n)
    }

    #[tokio::test]
    async fn a_write_that_fails_after_writing_leaves_nothing_behind_on_both_backends() {
        for backend in backends() {
            let db = TestDatabase::create(backend, "pool_write");
            let pool = pool(&db, 2, 1_000);
            pool.write(|c| -> Result<(), Failed> { Ok(c.batch_execute("CREATE TABLE t (n BIGINT NOT NULL)")?) })
                .await
                .unwrap();
            let failed = pool
                .write(|c| -> Result<(), Failed> {
                    c.batch_execute("INSERT INTO t (n) VALUES (1)")?;
                    c.batch_execute("INSERT INTO t (n) VALUES (2)")?;
                    Err(Failed::Refused)
                })
                .await;
            assert!(matches!(failed, Err(Failed::Refused)), "{backend:?}");
            assert_eq!(pool.read(count).await.unwrap(), 0, "{backend:?}: both inserts were undone");
            pool.write(|c| -> Result<(), Failed> { Ok(c.batch_execute("INSERT INTO t (n) VALUES (3)")?) })
                .await
                .unwrap();
            assert_eq!(pool.read(count).await.unwrap(), 1, "{backend:?}");
        }
    }

    #[cfg(feature = "actix")]
    #[tokio::test]
    async fn database_work_runs_in_the_context_of_the_request_it_serves() {
        use crate::request_context::{scope, with_request_id, RequestContext};
        let db = TestDatabase::create(Backend::Sqlite, "pool_context");
        let pool = pool(&db, 1, 1_000);
        let id_seen_by = |pool: DbPool| async move {
            pool.read(|_| -> Result<_, Failed> { Ok(with_request_id(|id| id.map(str::to_owned))) }).await.unwrap()
        };
        let context = RequestContext { client_ip: None, request_id: Some("r-db".into()) };
        assert_eq!(scope(context, id_seen_by(pool.clone())).await.as_deref(), Some("r-db"));
        assert_eq!(id_seen_by(pool).await, None, "outside a request");
    }

    #[tokio::test]
    async fn waiting_for_a_connection_is_bounded_by_the_acquire_timeout() {
        let db = TestDatabase::create(Backend::Sqlite, "pool_wait");
        let pool = pool(&db, 1, 50);
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holding = pool.clone();
        let holder = tokio::spawn(async move {
            holding
                .read(move |_| -> Result<(), Failed> {
                    held.recv().ok();
                    Ok(())
                })
                .await
        });
        // The only connection is taken (the holder waits for `release`): the next read gets none in time.
        let mut refused = pool.read(|_| -> Result<(), Failed> { Ok(()) }).await;
        while matches!(refused, Ok(())) {
            // The holder had not started yet; try again once it has its connection.
            tokio::task::yield_now().await;
            refused = pool.read(|_| -> Result<(), Failed> { Ok(()) }).await;
        }
        match refused {
            Err(Failed::Blocking(error)) => assert!(error.is_unavailable(), "{error}"),
            other => panic!("expected a busy pool, got {other:?}"),
        }
        release.send(()).unwrap();
        holder.await.unwrap().unwrap();
        pool.read(|_| -> Result<(), Failed> { Ok(()) }).await.unwrap();
    }
}
