//! What the resource server records for `GET /metrics`, each metric named once here with what it means.
//! HTTP requests, the database pool and the per-IP limit are recorded by `shared_core` (`http_*`,
//! `db_pool_*`, `rate_limit_*`). Labels are fixed lists: never tokens, users or paths.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter, Gauge, Unit};

use crate::error::UpstreamError;
use crate::introspection::StreamState;

pub const CACHE_HITS: &str = "resource_server_token_cache_hits_total";
pub const CACHE_NEGATIVE_HITS: &str = "resource_server_token_cache_negative_hits_total";
pub const CACHE_MISSES: &str = "resource_server_token_cache_misses_total";
pub const CACHE_STALE_SERVED: &str = "resource_server_token_cache_stale_served_total";
pub const CACHE_ENTRIES: &str = "resource_server_token_cache_entries";
pub const INTROSPECTION_DURATION: &str = "resource_server_introspection_duration_seconds";
pub const INTROSPECTION_ERRORS: &str = "resource_server_introspection_errors_total";
pub const REVOCATION_STREAM_STATE: &str = "resource_server_revocation_stream_state";
pub const REVOCATION_STREAM_LOSSES: &str = "resource_server_revocation_stream_losses_total";

/// The `# HELP` lines.
pub fn describe() {
    describe_counter!(CACHE_HITS, "Bearer tokens answered from a fresh cached active entry");
    describe_counter!(CACHE_NEGATIVE_HITS, "Bearer tokens answered from a fresh cached inactive entry");
    describe_counter!(CACHE_MISSES, "Bearer tokens with no fresh cache entry (absent or due)");
    describe_counter!(
        CACHE_STALE_SERVED,
        "Bearer tokens answered from a due entry within its grace (renewal out, slow, refused or failing)"
    );
    describe_gauge!(CACHE_ENTRIES, "Entries in the token cache (approximate, updated every few seconds)");
    describe_histogram!(INTROSPECTION_DURATION, Unit::Seconds, "Time of one introspection call to the auth server");
    describe_counter!(
        INTROSPECTION_ERRORS,
        "Introspections that failed or were not attempted, by reason: transport, status, credentials_refused, \
         malformed, circuit_open, saturated, no_jwks"
    );
    describe_gauge!(REVOCATION_STREAM_STATE, "1 for the revocation stream's current state (off, connecting, live)");
    describe_counter!(REVOCATION_STREAM_LOSSES, "Times a live revocation stream was lost");
    // Series that would otherwise appear with their first event are there at 0 from the start: a dashboard's
    // rate() has something to read, and an alert on them is not silently absent (`increment(0)` leaves a
    // series that exists as it is: tests start several servers in one process).
    for reason in INTROSPECTION_ERROR_REASONS {
        counter!(INTROSPECTION_ERRORS, "reason" => reason).increment(0);
    }
    let _ = histogram!(INTROSPECTION_DURATION);
}

/// The `reason` label of [`INTROSPECTION_ERRORS`].
const INTROSPECTION_ERROR_REASONS: [&str; 7] =
    ["transport", "status", "credentials_refused", "malformed", "circuit_open", "saturated", "no_jwks"];

/// The token cache's handles, taken once when it is built.
pub struct CacheMetrics {
    pub hits: Counter,
    pub negative_hits: Counter,
    pub misses: Counter,
    pub stale_served: Counter,
    pub entries: Gauge,
}

impl Default for CacheMetrics {
    fn default() -> Self {
        Self {
            hits: counter!(CACHE_HITS),
            negative_hits: counter!(CACHE_NEGATIVE_HITS),
            misses: counter!(CACHE_MISSES),
            stale_served: counter!(CACHE_STALE_SERVED),
            entries: gauge!(CACHE_ENTRIES),
        }
    }
}

/// One introspection call took `elapsed`.
pub fn introspection_took(elapsed: std::time::Duration) {
    histogram!(INTROSPECTION_DURATION).record(elapsed);
}

pub fn introspection_failed(error: &UpstreamError) {
    let [transport, status, credentials_refused, malformed, circuit_open, saturated, no_jwks] =
        INTROSPECTION_ERROR_REASONS;
    let reason = match error {
        UpstreamError::Transport { .. } => transport,
        UpstreamError::Status { .. } => status,
        UpstreamError::CredentialsRefused(_) => credentials_refused,
        UpstreamError::Malformed(_) => malformed,
        UpstreamError::CircuitOpen => circuit_open,
        UpstreamError::Saturated => saturated,
        UpstreamError::NoJwks => no_jwks,
    };
    counter!(INTROSPECTION_ERRORS, "reason" => reason).increment(1);
}

/// The revocation stream's state as one gauge per state, 1 for the current one.
pub struct StreamStateMetrics {
    states: [(StreamState, Gauge); 3],
    pub losses: Counter,
}

impl Default for StreamStateMetrics {
    fn default() -> Self {
        let state = |state: StreamState| (state, gauge!(REVOCATION_STREAM_STATE, "state" => state.as_str()));
        Self {
            states: [state(StreamState::Off), state(StreamState::Connecting), state(StreamState::Live)],
            losses: counter!(REVOCATION_STREAM_LOSSES),
        }
    }
}

impl StreamStateMetrics {
    pub fn set(&self, current: StreamState) {
        for (state, gauge) in &self.states {
            gauge.set(if *state == current { 1.0 } else { 0.0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_series_exist_before_their_first_event() {
        let text = shared_core::metrics::render_described(describe);
        for reason in INTROSPECTION_ERROR_REASONS {
            let series = format!("resource_server_introspection_errors_total{{reason=\"{reason}\"}} 0\n");
            assert!(text.contains(&series), "{text}");
        }
        assert!(text.contains("\nresource_server_introspection_duration_seconds_count 0\n"), "{text}");
    }
}
