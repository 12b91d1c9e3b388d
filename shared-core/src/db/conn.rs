//! The connection type: one enum over SQLite and PostgreSQL that is itself a diesel `Connection`
//! (`#[derive(diesel::MultiConnection)]`, as vaultwarden does), so every query is written once against
//! [`DbConn`] and diesel renders it for whichever backend the URL chose.
//!
//! The derive's backend covers what both backends share. Where one of them needs SQL of its own (an upsert:
//! the derived backend has no `ON CONFLICT`; `BEGIN IMMEDIATE` on SQLite) the caller matches on the variant,
//! and says why.

use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use super::health::{Health, PoolEntry};
use super::url::DatabaseUrl;
use super::DbError;

/// A live connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Opens connections of the backend the URL names (never guessing: the derived `establish` would try each
/// backend in turn, and SQLite accepts any string as a file name) and prepares SQLite ones.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    health: Arc<Health>,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self::with_health(url, Arc::new(Health::new(std::time::Duration::ZERO)))
    }

    pub(super) fn with_health(url: DatabaseUrl, health: Arc<Health>) -> Self {
        Self { url, health }
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn connect(&self) -> Result<DbConn, DbError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the one writer; busy_timeout makes writers in other processes
                // (the admin CLI) queue instead of failing with SQLITE_BUSY; synchronous=NORMAL is durable in
                // WAL mode except on power loss. busy_timeout first: switching a new file to WAL takes a lock
                // that other connections opening at the same moment must wait for, not fail on.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;",
                )
                .map_err(DbError::Prepare)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConn::Postgres(PgConnection::establish(url)?)),
        }
    }
}

impl diesel::r2d2::ManageConnection for ConnectionManager {
    type Connection = PoolEntry;
    type Error = DbError;

    fn connect(&self) -> Result<PoolEntry, DbError> {
        match ConnectionManager::connect(self) {
            Ok(conn) => {
                self.health.record_connect_success();
                Ok(PoolEntry::new(conn, &self.health))
            }
            Err(error) => {
                self.health.record_connect_failure(&error);
                Err(error)
            }
        }
    }

    /// Not used on checkout (`test_on_check_out` is off: the pool checks only suspect connections).
    fn is_valid(&self, entry: &mut PoolEntry) -> Result<(), DbError> {
        diesel::r2d2::R2D2Connection::ping(&mut entry.conn).map_err(DbError::Prepare)
    }

    /// A lost connection is dropped instead of going back to the pool.
    fn has_broken(&self, entry: &mut PoolEntry) -> bool {
        entry.is_lost()
    }
}
