//! Test support for both servers: [`on_both_backends!`](crate::on_both_backends) declares a test once per
//! backend, and [`TestDatabase`] is a temporary SQLite file or a uniquely named PostgreSQL database created
//! from `TEST_POSTGRES_URL` and dropped when the test ends.

#![allow(clippy::expect_used, reason = "test support: a failure here is a failed test")]

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests create their databases on.
pub const POSTGRES_URL_VARIABLE: &str = "TEST_POSTGRES_URL";

/// Declares each test twice, `sqlite::name` and `postgres::name`, with `$backend` bound to the
/// [`Backend`]. Without `TEST_POSTGRES_URL` the PostgreSQL copy says SKIPPED and passes, unless
/// `REQUIRE_POSTGRES=1` (CI), where it fails.
///
/// ```ignore
/// shared_core::on_both_backends! {
///     async fn a_token_is_issued(backend) {
///         let app = spawn_app(backend).await;
///     }
/// }
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[actix_rt::test]
                async fn $name() {
                    let $backend = $crate::testing::Backend::Sqlite;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[actix_rt::test]
                async fn $name() {
                    if !$crate::testing::postgres_available() {
                        return;
                    }
                    let $backend = $crate::testing::Backend::Postgres;
                    $body
                }
            )*
        }
    };
}

/// `program` (a server's binary) with none of this process's settings variables starting with `prefix`
/// (`AUTH_SERVER__`): only what the test sets, never what a developer exported.
pub fn command_without_settings(program: &str, prefix: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with(prefix) {
            command.env_remove(name);
        }
    }
    command
}

/// Whether PostgreSQL tests can run; says SKIPPED when not, and fails when `REQUIRE_POSTGRES=1`.
pub fn postgres_available() -> bool {
    if std::env::var_os(POSTGRES_URL_VARIABLE).is_some() {
        return true;
    }
    assert!(
        std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "REQUIRE_POSTGRES=1 but {POSTGRES_URL_VARIABLE} is not set"
    );
    eprintln!("SKIPPED (PostgreSQL): {POSTGRES_URL_VARIABLE} is not set");
    false
}

/// A database that lives as long as the value.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, empty database (PostgreSQL needs `TEST_POSTGRES_URL`: see [`postgres_available`]).
    pub fn create(backend: Backend, label: &str) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/{label}.sqlite3", dir.path().display());
                Self { url, _dir: Some(dir), postgres: None }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VARIABLE).expect("TEST_POSTGRES_URL is set");
                let name = format!("test_{label}_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("connect to TEST_POSTGRES_URL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create test database");
                let url = database_url(&admin_url, &name);
                Self { url, _dir: None, postgres: Some((admin_url, name)) }
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

impl TestDatabase {
    /// Ends every server process of this PostgreSQL database, as a restart or a failover does to the pool's
    /// connections; returns how many. SQLite has no connections to cut: 0.
    pub fn terminate_connections(&self) -> usize {
        let Some((admin_url, name)) = &self.postgres else { return 0 };
        let mut admin = PgConnection::establish(admin_url).expect("connect to TEST_POSTGRES_URL");
        #[derive(diesel::QueryableByName)]
        struct Terminated {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            #[allow(dead_code, reason = "only counted")]
            terminated: bool,
        }
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .load::<Terminated>(&mut admin)
        .expect("terminate the test database's connections")
        .len()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin);
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
        assert_eq!(
            database_url("postgres://u@h/db?application_name=x", "t1"),
            "postgres://u@h/t1?application_name=x&sslmode=disable"
        );
    }
}

/// Every log line this test process writes at `info` or above (but the HTTP stack's own), kept so that a
/// test can assert what was logged: the audit trail, a warning, that no secret was written. One logger
/// serves the whole process: tests find their own lines by what is unique to them.
pub struct LogCapture {
    lines: std::sync::Mutex<Vec<CapturedLine>>,
}

#[derive(Debug, Clone)]
pub struct CapturedLine {
    pub target: String,
    pub level: log::Level,
    pub message: String,
    /// The request id the servers' log format would print with the line (the request being answered).
    pub request_id: Option<String>,
}

static CAPTURE: LogCapture = LogCapture { lines: std::sync::Mutex::new(Vec::new()) };

impl log::Log for LogCapture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        let target = metadata.target();
        metadata.level() <= log::Level::Info
            && !["actix", "hyper", "reqwest", "h2", "mio", "rustls"].iter().any(|noisy| target.starts_with(noisy))
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = CapturedLine {
                target: record.target().to_owned(),
                level: record.level(),
                message: record.args().to_string(),
                request_id: request_id(),
            };
            self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
        }
    }

    fn flush(&self) {}
}

#[cfg(feature = "actix")]
fn request_id() -> Option<String> {
    crate::request_context::with_request_id(|id| id.map(str::to_owned))
}

#[cfg(not(feature = "actix"))]
fn request_id() -> Option<String> {
    None
}

impl LogCapture {
    /// The process's capture, installed on first use (before the server to be observed starts: the access
    /// log decides at start-up whether to write).
    pub fn install() -> &'static LogCapture {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            if log::set_logger(&CAPTURE).is_ok() {
                log::set_max_level(log::LevelFilter::Info);
            }
        });
        &CAPTURE
    }

    pub fn lines(&self) -> Vec<CapturedLine> {
        self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The audit lines so far, parsed (a line that is not JSON fails the test).
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|line| line.target == crate::audit::TARGET)
            .map(|line| serde_json::from_str(&line.message).expect("an audit line is one JSON object"))
            .collect()
    }
}

/// The sum of the samples of `name` in a Prometheus text exposition whose labels include every pair of
/// `labels` (`None`: no such sample). The recorder is global to a test process, so tests compare sums
/// before and after, never exact totals.
pub fn metric_sum(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: Vec<String> = labels.iter().map(|(key, value)| format!("{key}=\"{value}\"")).collect();
    let mut found = None;
    for line in exposition.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
        if series_name != name {
            continue;
        }
        let present: Vec<&str> = series_labels.trim_end_matches('}').split(',').collect();
        if wanted.iter().all(|pair| present.contains(&pair.as_str())) {
            *found.get_or_insert(0.0) += value.parse::<f64>().expect("a sample's value is a number");
        }
    }
    found
}
