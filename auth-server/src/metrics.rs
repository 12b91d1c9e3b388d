//! What the auth server records for `GET /metrics`, each metric named once here with what it means. HTTP
//! requests, the database pool and the per-IP limits are recorded by `shared_core` (`http_*`, `db_pool_*`,
//! `rate_limit_*`). Labels stay bounded: grant types and results are fixed lists, client ids are registered
//! clients (callers whose client authentication failed are never a label); never users, tokens or paths.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};

use crate::error::Error;

pub const TOKENS_ISSUED: &str = "auth_server_tokens_issued_total";
pub const INTROSPECTIONS: &str = "auth_server_introspections_total";
pub const BCRYPT_QUEUE_DEPTH: &str = "auth_server_bcrypt_queue_depth";
pub const BCRYPT_WAIT: &str = "auth_server_bcrypt_wait_seconds";
pub const ACCOUNT_LOCKOUTS: &str = "auth_server_account_lockouts_total";
pub const REVOCATION_STREAMS_OPEN: &str = "auth_server_revocation_streams_open";

/// The `# HELP` lines.
pub fn describe() {
    describe_counter!(TOKENS_ISSUED, "Token responses issued, by grant type and client id");
    describe_counter!(
        INTROSPECTIONS,
        "Introspection requests, by result: active, inactive, refused (a 4xx: caller not allowed, bad request, \
         over a limit), failed (5xx)"
    );
    describe_gauge!(BCRYPT_QUEUE_DEPTH, "bcrypt jobs waiting for a hasher thread");
    describe_histogram!(BCRYPT_WAIT, Unit::Seconds, "Time a bcrypt job waited for a hasher thread");
    describe_counter!(ACCOUNT_LOCKOUTS, "Accounts locked after repeated wrong passwords");
    describe_gauge!(REVOCATION_STREAMS_OPEN, "Revocation event streams (GET /o/revocations/) open on this instance");
    // Series that would otherwise appear with their first event are there at 0 from the start: a dashboard's
    // rate() has something to read, and an alert on them is not silently absent (`increment(0)` leaves a
    // series that exists as it is: tests start several servers in one process).
    for result in INTROSPECTION_RESULTS {
        counter!(INTROSPECTIONS, "result" => result).increment(0);
    }
    counter!(ACCOUNT_LOCKOUTS).increment(0);
    gauge!(REVOCATION_STREAMS_OPEN).increment(0.0);
}

/// The `result` label of [`INTROSPECTIONS`].
const INTROSPECTION_RESULTS: [&str; 4] = ["active", "inactive", "refused", "failed"];

/// A token response was issued to `client_id` by `grant_type` (one of the supported grants).
pub fn token_issued(grant_type: &'static str, client_id: String) {
    counter!(TOKENS_ISSUED, "grant_type" => grant_type, "client_id" => client_id).increment(1);
}

/// An introspection request was answered with `answer`.
pub fn introspected(answer: Result<bool, &Error>) {
    let [active, inactive, refused, failed] = INTROSPECTION_RESULTS;
    let result = match answer {
        Ok(true) => active,
        Ok(false) => inactive,
        Err(error) if actix_web::ResponseError::status_code(error).is_client_error() => refused,
        Err(_) => failed,
    };
    counter!(INTROSPECTIONS, "result" => result).increment(1);
}

pub fn account_locked() {
    counter!(ACCOUNT_LOCKOUTS).increment(1);
}

/// Counts an open revocation stream until dropped.
pub struct OpenStream(metrics::Gauge);

impl OpenStream {
    pub fn opened() -> Self {
        let open = gauge!(REVOCATION_STREAMS_OPEN);
        open.increment(1);
        Self(open)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.decrement(1);
    }
}

/// The hasher's handles, taken once when it starts.
#[derive(Clone)]
pub struct HasherMetrics {
    pub queue_depth: metrics::Gauge,
    pub wait: metrics::Histogram,
}

impl Default for HasherMetrics {
    fn default() -> Self {
        Self { queue_depth: gauge!(BCRYPT_QUEUE_DEPTH), wait: histogram!(BCRYPT_WAIT) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_series_exist_before_their_first_event() {
        let text = shared_core::metrics::render_described(describe);
        assert!(text.contains("\nauth_server_account_lockouts_total 0\n"), "{text}");
        assert!(text.contains("\nauth_server_revocation_streams_open 0\n"), "{text}");
        for result in INTROSPECTION_RESULTS {
            assert!(text.contains(&format!("auth_server_introspections_total{{result=\"{result}\"}} 0\n")), "{text}");
        }
    }
}
