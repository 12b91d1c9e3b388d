//! The auth server's persistence: embedded migrations, the pool's two entry points with this server's error
//! type, and repository functions. Only this module touches `schema`.

pub mod clients;
pub mod codes;
pub mod consents;
pub mod keys;
pub mod resources;
pub mod revocation_log;
pub mod schema;
pub mod sessions;
pub mod token_admin;
pub mod tokens;
pub mod users;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use shared_core::db::{DbConn, DbError, DbPool};

use crate::error::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/auth-server/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/auth-server/postgres");

/// `config check`: the effective settings (secrets redacted), the database reached, its pending migrations.
pub async fn config_check(settings: &crate::settings::Settings) -> shared_core::config_check::Report {
    shared_core::config_check::check(
        "auth-server",
        settings,
        &settings.database,
        SQLITE_MIGRATIONS,
        POSTGRES_MIGRATIONS,
    )
    .await
}

/// Applies pending migrations; returns how many ran.
pub async fn migrate(pool: &DbPool) -> Result<usize, DbError> {
    shared_core::db::run_migrations(pool, SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS).await
}

/// Read-only `work` (see [`DbPool::read`]), with this server's error type.
pub async fn read<T: Send + 'static>(
    pool: &DbPool,
    work: impl FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    pool.read(work).await
}

/// `work` that writes, as one transaction (see [`DbPool::write`]), with this server's error type.
pub async fn write<T: Send + 'static>(
    pool: &DbPool,
    work: impl FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    pool.write(work).await
}
