//! `config check`, the same for both servers: the settings loaded and validated (a failure never gets
//! here: it is reported as a configuration error), the database reached and its migrations compared, and
//! the effective settings printed with every secret redacted.

use std::path::Path;

use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use serde::Serialize;

use crate::db::{self, DatabaseSettings, DatabaseUrl};

#[derive(Debug, Serialize)]
pub struct Report {
    /// Everything usable: the database answers (or is a SQLite file the server will create).
    pub ok: bool,
    pub server: &'static str,
    pub database: DatabaseReport,
    /// The effective settings, secrets redacted.
    pub settings: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct DatabaseReport {
    pub backend: &'static str,
    /// The URL, its password redacted.
    pub url: String,
    pub reachable: bool,
    /// Migrations the server would apply at its next start.
    pub pending_migrations: Option<usize>,
    /// Why it could not be reached, or what to know.
    pub note: Option<String>,
}

/// Checks `settings` (the whole, for the report) and their database, without changing it (beyond diesel's
/// bookkeeping table, which the first start creates anyway).
pub async fn check(
    server: &'static str,
    settings: &impl Serialize,
    database: &DatabaseSettings,
    sqlite: EmbeddedMigrations,
    postgres: EmbeddedMigrations,
) -> Report {
    let (database, usable) = check_database(database, sqlite, postgres).await;
    let settings =
        serde_json::to_value(settings).unwrap_or_else(|e| serde_json::json!({ "unprintable": e.to_string() }));
    Report { ok: usable, server, database, settings }
}

/// The database's report, and whether the server can use it: reached, or a SQLite file it will create.
async fn check_database(
    settings: &DatabaseSettings,
    sqlite: EmbeddedMigrations,
    postgres: EmbeddedMigrations,
) -> (DatabaseReport, bool) {
    let url = db::redacted_url(&settings.url);
    let parsed = match DatabaseUrl::parse(&settings.url) {
        Ok(parsed) => parsed,
        Err(error) => {
            let note = Some(error.to_string());
            return (
                DatabaseReport { backend: "unknown", url, reachable: false, pending_migrations: None, note },
                false,
            );
        }
    };
    let backend = parsed.backend_name();
    if let DatabaseUrl::Sqlite(path) = &parsed {
        // Opening it would create it: a check changes nothing.
        if !Path::new(path).exists() {
            let note = Some("the SQLite file does not exist yet: the server creates it at its first start".to_owned());
            return (DatabaseReport { backend, url, reachable: false, pending_migrations: None, note }, true);
        }
    }
    let migrations = if backend == "sqlite" { sqlite } else { postgres };
    // One connection: a check needs no more (and a pool still opening others at exit can crash libpq).
    let database = DatabaseSettings { pool_size: 1, ..settings.clone() };
    let pending = async move {
        let pool = tokio::task::spawn_blocking(move || db::build_pool(&database)).await.map_err(|e| e.to_string())?;
        let pool = pool.map_err(|e| crate::report::Chain(&e).to_string())?;
        pool.write(move |conn| {
            db::ping(conn)?;
            conn.pending_migrations(migrations).map(|pending| pending.len()).map_err(db::DbError::Migration)
        })
        .await
        .map_err(|e: db::DbError| crate::report::Chain(&e).to_string())
    };
    match pending.await {
        Ok(count) => {
            (DatabaseReport { backend, url, reachable: true, pending_migrations: Some(count), note: None }, true)
        }
        Err(note) => {
            (DatabaseReport { backend, url, reachable: false, pending_migrations: None, note: Some(note) }, false)
        }
    }
}

impl Report {
    /// Prints the report on stdout (one JSON object with `json`, else [`Report::text`]); `Err` when the
    /// configuration cannot be used, for the command's exit status.
    pub fn print(&self, json: bool) -> Result<(), &'static str> {
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
        } else {
            print!("{}", self.text());
        }
        if self.ok {
            Ok(())
        } else {
            Err("the configuration cannot be used (see above)")
        }
    }

    /// The report for a person: a summary, then the effective settings as JSON.
    pub fn text(&self) -> String {
        let database = &self.database;
        let state = match (database.reachable, database.pending_migrations, &database.note) {
            (true, Some(0), _) => "reachable, migrations up to date".to_owned(),
            (true, Some(n), _) => format!("reachable, {n} migration(s) to apply at the next start"),
            (_, _, Some(note)) => note.clone(),
            _ => "not reachable".to_owned(),
        };
        let settings = serde_json::to_string_pretty(&self.settings).unwrap_or_default();
        format!(
            "{}: configuration {}\ndatabase ({}): {}: {state}\neffective settings (secrets redacted):\n{settings}\n",
            self.server,
            if self.ok { "ok" } else { "NOT usable" },
            database.backend,
            database.url,
        )
    }
}
