//! The auth server's persistence: embedded migrations, the blocking-pool bridge, and repository functions.
//! Only this module touches `schema`.

pub mod clients;
pub mod schema;
pub mod tokens;
pub mod users;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use shared_core::db::{DbConn, DbError, DbPool};

use crate::error::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/auth-server/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/auth-server/postgres");

pub fn migrate(conn: &mut DbConn) -> Result<usize, DbError> {
    shared_core::db::run_migrations(conn, SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS)
}

/// Runs read-only `work` with a pooled connection on the blocking pool: the async workers never wait on
/// the database. The connection goes back to the pool as soon as `work` returns.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
{
    on_blocking_pool(pool, false, work).await
}

/// Like [`run`] for `work` that writes: on SQLite it first queues on the process's writer lock.
pub async fn write<T, F>(pool: &DbPool, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
{
    on_blocking_pool(pool, true, work).await
}

async fn on_blocking_pool<T, F>(pool: &DbPool, writes: bool, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let _writer = if writes { pool.lock_writes() } else { None };
        let mut conn = pool.get().map_err(Error::pool)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
}
