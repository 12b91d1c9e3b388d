//! Database URL parsing: the scheme picks the backend, and nothing else is guessed.

use std::path::PathBuf;

use super::DbError;

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://data/x.sqlite3` (relative), `sqlite:///var/lib/x.sqlite3` (absolute), `postgres://...` or
    /// `postgresql://...`. Anything else (a typo, a bare path, `:memory:` which a pool would split into
    /// several unrelated databases) is refused rather than silently creating a new SQLite file.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let unsupported = || DbError::UnsupportedUrl(redacted(url));
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

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redacted(url)).finish(),
        }
    }
}

/// `url` with its password (`user:PASSWORD@host`, and a `password=` query parameter, which libpq also
/// reads) replaced by `***`: fit for an error message or a log line.
pub fn redacted(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            // The userinfo ends at the last '@' before the path: a password may itself hold '@'.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => match rest[..at].split_once(':') {
                    Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
                    None => base.to_owned(),
                },
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&parameters.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_wherever_a_url_is_shown() {
        let url = "postgres://app:s3cr%40t@db.example:5432/auth?sslmode=require&password=other";
        let shown = redacted(url);
        assert_eq!(shown, "postgres://app:***@db.example:5432/auth?sslmode=require&password=***");
        assert_eq!(redacted("postgres://app@db/auth"), "postgres://app@db/auth");
        assert_eq!(redacted("postgres://a:p@ss@db/x"), "postgres://a:***@db/x");
        let debug = format!("{:?}", DatabaseUrl::parse(url).unwrap());
        assert!(!debug.contains("s3cr") && !debug.contains("other"), "{debug}");
        let typo = DatabaseUrl::parse("postgress://app:s3cret@db/auth").unwrap_err().to_string();
        assert!(typo.contains("postgress://app:***@db/auth") && !typo.contains("s3cret"), "{typo}");
    }

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
