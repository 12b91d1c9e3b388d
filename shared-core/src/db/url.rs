//! Database URL parsing: the scheme picks the backend, and nothing else is guessed.

use std::path::PathBuf;

use super::DbError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://data/x.sqlite3` (relative), `sqlite:///var/lib/x.sqlite3` (absolute), `postgres://...` or
    /// `postgresql://...`. Anything else (a typo, a bare path, `:memory:` which a pool would split into
    /// several unrelated databases) is refused rather than silently creating a new SQLite file.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let unsupported = || DbError::UnsupportedUrl(url.to_owned());
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == ":memory:" || path.contains('?') {
                return Err(unsupported());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(unsupported())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/a.sqlite3").unwrap(),
            DatabaseUrl::Sqlite("data/a.sqlite3".into())
        );
        assert_eq!(DatabaseUrl::parse("sqlite:///tmp/a.db").unwrap(), DatabaseUrl::Sqlite("/tmp/a.db".into()));
        assert!(matches!(DatabaseUrl::parse("postgres://u@h/db").unwrap(), DatabaseUrl::Postgres(_)));
        assert!(matches!(DatabaseUrl::parse("postgresql://u@h/db").unwrap(), DatabaseUrl::Postgres(_)));
    }

    #[test]
    fn unknown_schemes_and_memory_databases_are_refused() {
        for bad in ["data/a.sqlite3", "sqlite:", "sqlite://", "sqlite://:memory:", "mysql://x", "postgress://x", ""] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
