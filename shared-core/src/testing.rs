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
                let url = database_url(&admin_url, &name);
                Some(Self { url, _dir: None, postgres: Some((admin_url, name)) })
            }
        }
    }
}

/// `admin_url` with its database replaced by `name`, keeping its parameters. Without an explicit `sslmode`
/// the tests use `sslmode=disable`: they talk to a loopback server, and libpq's TLS (OpenSSL) state torn
/// down by the test harness's exit while pool threads still close connections can crash the process.
fn database_url(admin_url: &str, name: &str) -> String {
    let (location, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let base = location.rsplit_once('/').map_or(location, |(base, _)| base);
    let query = if query.contains("sslmode=") {
        query.to_owned()
    } else if query.is_empty() {
        "sslmode=disable".to_owned()
    } else {
        format!("{query}&sslmode=disable")
    };
    format!("{base}/{name}?{query}")
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

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_test_database_keeps_the_servers_parameters() {
        assert_eq!(database_url("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1?sslmode=disable");
        assert_eq!(database_url("postgres://u@h/db?sslmode=require", "t1"), "postgres://u@h/t1?sslmode=require");
        assert_eq!(database_url("postgres://u@h/db?application_name=x", "t1"), "postgres://u@h/t1?application_name=x&sslmode=disable");
    }
}
