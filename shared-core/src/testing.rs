//! Databases for integration tests: a temporary SQLite file, or a uniquely named PostgreSQL database
//! created from `TEST_POSTGRES_URL` and dropped when the test ends.

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as the value.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// `None` (after saying so on stderr) when PostgreSQL is asked for but `TEST_POSTGRES_URL` is unset.
    pub fn create(backend: Backend, label: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/{label}.sqlite3", dir.path().display());
                Some(Self { url, _dir: Some(dir), postgres: None })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
                    eprintln!("SKIPPED (PostgreSQL): TEST_POSTGRES_URL is not set");
                    return None;
                };
                let name = format!("test_{label}_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("connect to TEST_POSTGRES_URL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).expect("create test database");
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
                let url = format!("{base}/{name}");
                Some(Self { url, _dir: None, postgres: Some((admin_url, name)) })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}
