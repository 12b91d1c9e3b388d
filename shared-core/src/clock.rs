//! The one wall clock both servers read for anything compared with a token's `iat` or `exp`.

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
