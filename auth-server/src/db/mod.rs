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

/// Read-only `work` on the blocking pool (see [`shared_core::db::run`]), with this server's error type.
pub async fn run<T: Send + 'static>(
    pool: &DbPool,
    work: impl FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    shared_core::db::run(pool, work).await
}

/// `work` that writes (see [`shared_core::db::write`]), with this server's error type.
pub async fn write<T: Send + 'static>(
    pool: &DbPool,
    work: impl FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    shared_core::db::write(pool, work).await
}
