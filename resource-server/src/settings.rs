//! The resource server's configuration: built-in defaults, then an optional TOML file (`--config FILE`),
//! then `RESOURCE_SERVER__SECTION__KEY` environment variables.

use std::path::Path;

use serde::{Deserialize, Serialize};
use shared_core::config_loader::{self, HttpSettings};
use shared_core::db::DatabaseSettings;

pub const ENV_PREFIX: &str = "RESOURCE_SERVER";

const DEFAULTS: &str = r#"
[http]
host = "127.0.0.1"
port = 8001
workers = 0
body_timeout_ms = 5000
trusted_proxies = []

[database]
url = "sqlite://data/resource-server.sqlite3"
pool_size = 0 # 0: two per CPU
acquire_timeout_ms = 5000
idle_check_secs = 30

[auth]
base_url = "http://127.0.0.1:8000"
discovery = false
introspection_url = ""
token_url = ""
health_url = ""
jwks_url = ""
jwks_refetch_secs = 10
audience = ""
revocation_stream = true
revocations_url = ""
revocation_stream_idle_secs = 45
client_id = ""
client_secret = ""
introspection_token = ""
connect_timeout_ms = 1000
timeout_ms = 3000
proxy_timeout_ms = 10000
max_concurrent_introspections = 64
breaker_failures = 5
breaker_open_ms = 5000

[log]
format = "text"

[rate_limit]
enabled = true
per_minute = 30
burst = 10

[metrics]
enabled = true
listen = ""

[cache]
ttl_secs = 60
ttl_without_stream_secs = 5
negative_ttl_secs = 5
stale_grace_secs = 60
revalidate_wait_ms = 250
max_entries = 100000
"#;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub cache: CacheSettings,
    /// Per client IP: the account calls it may proxy (signup, login, password change).
    pub rate_limit: shared_core::rate_limit::RateLimitSettings,
    /// Log lines: `text` for a terminal, `json` for a log pipeline (the level is `RUST_LOG`'s).
    pub log: shared_core::logging::LogSettings,
    /// `GET /metrics` (Prometheus): on or off, and on the public port or a private one.
    pub metrics: shared_core::metrics::MetricsSettings,
}

/// How to reach and authenticate to the authorization server.
#[derive(Clone, Deserialize, Serialize)]
pub struct AuthSettings {
    /// The authorization server: its issuer identifier when `discovery` is on.
    pub base_url: String,
    /// Read the endpoints from the auth server's RFC 8414 / OpenID Connect discovery document at start-up.
    pub discovery: bool,
    /// RFC 7662 introspection endpoint (Django OAuth Toolkit's `RESOURCE_SERVER_INTROSPECTION_URL`); empty:
    /// from discovery, else `base_url` + `/o/introspect/`.
    pub introspection_url: String,
    /// Token endpoint used by the `/users/token/` proxies; empty: from discovery, else `base_url` + `/o/token/`.
    pub token_url: String,
    /// What `/health/ready` asks to know the auth server is up (any 2xx); empty: the discovery document with
    /// discovery, else `base_url` + `/health/live`.
    pub health_url: String,
    /// The auth server's JWKS, to verify JWT access tokens (`typ: at+jwt`) locally; empty: discovery's
    /// `jwks_uri`, else `base_url` + `/o/jwks/`.
    pub jwks_url: String,
    /// The JWKS is fetched again for an unknown `kid` at most this often.
    pub jwks_refetch_secs: u64,
    /// This resource server's identifier: tokens whose `aud` does not include it are refused. Empty: no check.
    pub audience: String,
    /// Subscribe to the auth server's revocation events (`GET /o/revocations/`), so that a revoked token is
    /// refused within a second and cached answers can be trusted for `cache.ttl_secs`. An auth server
    /// without the endpoint (404) is checked again every minute meanwhile.
    pub revocation_stream: bool,
    /// The event stream; empty: discovery's `revocation_events_endpoint`, else `base_url` + `/o/revocations/`.
    pub revocations_url: String,
    /// A stream silent for this long (the auth server sends a comment every 15 s) is taken for lost.
    pub revocation_stream_idle_secs: u64,
    /// This server's client at the auth server; required, no default (the tutorial's pair is `rs-id` /
    /// `rs-secret`, which every reader of the tutorial knows).
    pub client_id: String,
    #[serde(serialize_with = "config_loader::redact")]
    pub client_secret: String,
    /// A static bearer token holding the `introspection` scope (Django OAuth Toolkit's
    /// `RESOURCE_SERVER_AUTH_TOKEN`). When set, introspection uses it instead of the client credentials.
    #[serde(serialize_with = "config_loader::redact")]
    pub introspection_token: String,
    pub connect_timeout_ms: u64,
    /// Total time allowed for one introspection call.
    pub timeout_ms: u64,
    /// Total time allowed for a proxied account call (a password login waits for bcrypt).
    pub proxy_timeout_ms: u64,
    /// Introspection calls allowed out at once; beyond, a token without a usable cache entry gets 503 at once.
    pub max_concurrent_introspections: usize,
    /// Consecutive failed introspections (errors, timeouts, 5xx) that open the circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one probe is let through.
    pub breaker_open_ms: u64,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("base_url", &self.base_url)
            .field("discovery", &self.discovery)
            .field("introspection_url", &self.introspection_url)
            .field("token_url", &self.token_url)
            .field("health_url", &self.health_url)
            .field("jwks_url", &self.jwks_url)
            .field("jwks_refetch_secs", &self.jwks_refetch_secs)
            .field("audience", &self.audience)
            .field("revocation_stream", &self.revocation_stream)
            .field("revocations_url", &self.revocations_url)
            .field("revocation_stream_idle_secs", &self.revocation_stream_idle_secs)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("introspection_token", &if self.introspection_token.is_empty() { "" } else { "<redacted>" })
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("proxy_timeout_ms", &self.proxy_timeout_ms)
            .field("max_concurrent_introspections", &self.max_concurrent_introspections)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_open_ms", &self.breaker_open_ms)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CacheSettings {
    /// How long an active token is trusted without asking again (never past its `exp`) while the revocation
    /// stream is live: a revocation reaches the cache through the stream within a second.
    pub ttl_secs: u64,
    /// The same without a live stream (none configured, the auth server has none, or it is lost and not yet
    /// resumed): a revocation is then honoured within this long. Never more than `ttl_secs`.
    pub ttl_without_stream_secs: u64,
    /// How long an inactive token is remembered as such.
    pub negative_ttl_secs: u64,
    /// How long a due entry may still be served while the auth server is unreachable (never past `exp`).
    pub stale_grace_secs: u64,
    /// How long a request whose entry has fallen due waits for its renewal before the entry (within its
    /// grace) answers it; the renewal goes on and serves the next request.
    pub revalidate_wait_ms: u64,
    pub max_entries: u64,
}

impl Settings {
    /// The defaults, then `file`, then `RESOURCE_SERVER__*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, config::ConfigError> {
        Self::from_sources(file, Some(ENV_PREFIX))
    }

    /// The defaults, then `file`; never the environment.
    pub fn load_without_environment(file: Option<&Path>) -> Result<Self, config::ConfigError> {
        Self::from_sources(file, None)
    }

    /// The built-in defaults as they are, without the checks (which they fail: there is no default client
    /// secret). For tests, which fill in what is missing.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn unchecked_defaults() -> Result<Self, config::ConfigError> {
        config_loader::load(DEFAULTS, None, None)
    }

    fn from_sources(file: Option<&Path>, env_prefix: Option<&str>) -> Result<Self, config::ConfigError> {
        let settings: Settings = config_loader::load(DEFAULTS, file, env_prefix)?;
        let auth = &settings.auth;
        let urls = [
            ("base_url", &auth.base_url),
            ("introspection_url", &auth.introspection_url),
            ("token_url", &auth.token_url),
            ("health_url", &auth.health_url),
            ("jwks_url", &auth.jwks_url),
            ("revocations_url", &auth.revocations_url),
        ];
        if auth.client_id.trim().is_empty() || auth.client_secret.is_empty() {
            return Err(config::ConfigError::Message(
                "auth.client_id and auth.client_secret are required: this server's client at the auth server \
                 (RESOURCE_SERVER__AUTH__CLIENT_ID / RESOURCE_SERVER__AUTH__CLIENT_SECRET; the tutorial's pair is \
                 rs-id / rs-secret)"
                    .into(),
            ));
        }
        shared_core::client_ip::TrustedProxies::parse(&settings.http.trusted_proxies)
            .map_err(config::ConfigError::Message)?;
        settings.metrics.validate().map_err(config::ConfigError::Message)?;
        for (name, value) in urls.into_iter().filter(|(name, value)| *name == "base_url" || !value.is_empty()) {
            url::Url::parse(value).map_err(|e| config::ConfigError::Message(format!("auth.{name} {value:?}: {e}")))?;
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn there_is_no_default_client_secret() {
        let error = Settings::load_without_environment(None).unwrap_err().to_string();
        assert!(error.contains("auth.client_secret are required"), "{error}");
    }

    #[test]
    fn the_example_file_loads_and_names_every_setting() {
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/resource-server.example.toml");
        let settings = Settings::load_without_environment(Some(&example)).unwrap();
        assert_eq!(settings.http.port, 8001);
        let missing = config_loader::keys_missing_from(DEFAULTS, &example).unwrap();
        assert!(missing.is_empty(), "config/resource-server.example.toml lacks {missing:?}");
    }
}
