//! The access log both servers write: one line per request with the peer, method, path without the query
//! string (it could carry a token), status, size and time. Never headers or bodies.

use actix_web::middleware::{Condition, Logger};

/// The log target actix-web's `Logger` writes to (`RUST_LOG=actix_web::middleware::logger=info`).
const TARGET: &str = "actix_web::middleware::logger";

/// The access-log middleware, switched off when its lines would be filtered out anyway: `Logger` renders
/// every field of every request before `log` decides whether to keep the line, work the hot paths
/// need not do (the benchmarks run with `RUST_LOG=warn`). The logger's level is fixed at start-up.
pub fn access_log() -> Condition<Logger> {
    let enabled = log::log_enabled!(target: TARGET, log::Level::Info);
    Condition::new(
        enabled,
        Logger::new("%a %{METHOD}xi %U %s %b %Dms").custom_request_replace("METHOD", |req| req.method().to_string()),
    )
}
