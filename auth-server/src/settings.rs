//! The auth server's configuration: one typed struct, layered as built-in defaults, then an optional TOML
//! file (`--config FILE`), then `AUTH_SERVER__SECTION__KEY` environment variables.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use shared_core::config_loader::{self, string_or_list, HttpSettings};
use shared_core::db::DatabaseSettings;

pub const ENV_PREFIX: &str = "AUTH_SERVER";

const DEFAULTS: &str = r#"
issuer = ""

[http]
host = "127.0.0.1"
port = 8000
workers = 0
body_timeout_ms = 5000
trusted_proxies = []

[database]
url = "sqlite://data/auth-server.sqlite3"
pool_size = 0 # 0: two per CPU
acquire_timeout_ms = 5000
idle_check_secs = 30

[tokens]
access_token_lifetime_secs = 3600
refresh_token_lifetime_secs = 1209600
jwt_access_token_lifetime_secs = 300
default_audience = ""

[security]
bcrypt_cost = 12
hasher_threads = 0
hasher_queue = 64
client_cache_size = 10000

[log]
format = "text"

[rate_limit]
enabled = true
per_minute = 30
burst = 10

[metrics]
enabled = true
listen = ""

[lockout]
max_failures = 5
window_secs = 900
first_lock_secs = 60
max_lock_secs = 900

[scopes]
available = ["read", "write", "introspection", "openid", "email", "profile"]
default = ["read", "write"]

[scopes.descriptions]
read = "Read your items"
write = "Create, change and delete your items"
introspection = "Check tokens (servers only)"
openid = "Know who you are (your account's id)"
email = "See your email address"
profile = "See your profile"

[sessions]
lifetime_secs = 28800

[authorization]
code_lifetime_secs = 60

[oidc]
signing_key_file = ""

[introspection]
restrict_to_audience = false

[revocation]
retention_secs = 86400
heartbeat_secs = 15
poll_ms = 1000

[janitor]
interval_secs = 300
batch_size = 1000
"#;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    /// `iss` in introspection answers and RFC 8414 metadata; empty means `http://HOST:PORT` as bound.
    pub issuer: String,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub tokens: TokenSettings,
    pub security: SecuritySettings,
    /// Per client IP: how many credential checks (password or client secret, each a bcrypt) it may cause.
    pub rate_limit: shared_core::rate_limit::RateLimitSettings,
    /// Log lines: `text` for a terminal, `json` for a log pipeline (the level is `RUST_LOG`'s).
    pub log: shared_core::logging::LogSettings,
    /// `GET /metrics` (Prometheus): on or off, and on the public port or a private one.
    pub metrics: shared_core::metrics::MetricsSettings,
    pub lockout: LockoutSettings,
    pub scopes: ScopeSettings,
    pub janitor: JanitorSettings,
    pub revocation: RevocationSettings,
    pub sessions: SessionSettings,
    pub authorization: AuthorizationSettings,
    pub oidc: OidcSettings,
    pub introspection: IntrospectionSettings,
    /// Clients created or updated at start-up, keyed by a label of your choice.
    #[serde(default)]
    pub clients: BTreeMap<String, BootstrapClient>,
    /// Resources (RFC 8707 audiences) created or updated at start-up, keyed by a label of your choice.
    #[serde(default)]
    pub resources: BTreeMap<String, BootstrapResource>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenSettings {
    pub access_token_lifetime_secs: i64,
    pub refresh_token_lifetime_secs: i64,
    /// Lifetime of JWT access tokens: a resource server that verifies them locally honours a revocation
    /// only when they expire.
    pub jwt_access_token_lifetime_secs: i64,
    /// `aud` of JWT access tokens when the request names no resource; empty: the issuer.
    pub default_audience: String,
}

impl TokenSettings {
    /// How long anything signed may still be verified: a superseded key stays published that long.
    pub fn longest_signed_lifetime(&self) -> i64 {
        self.access_token_lifetime_secs.max(self.jwt_access_token_lifetime_secs)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SecuritySettings {
    /// bcrypt cost for user passwords and client secrets (4..=31).
    pub bcrypt_cost: u32,
    /// Threads dedicated to bcrypt; 0 means one per CPU.
    pub hasher_threads: usize,
    /// bcrypt jobs that may wait for a thread; beyond this the server answers 503 at once.
    pub hasher_queue: usize,
    /// Clients whose verified secret is remembered (keyed digest) so that they skip bcrypt.
    pub client_cache_size: u64,
}

/// Per account, in the database: how wrong passwords lock an account for a while.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LockoutSettings {
    /// Wrong passwords within `window_secs` that lock the account; 0: never lock.
    pub max_failures: i64,
    pub window_secs: i64,
    /// The first lock lasts this long; each further one twice as long as the one before, up to
    /// `max_lock_secs`. A successful sign-in starts over.
    pub first_lock_secs: i64,
    pub max_lock_secs: i64,
}

impl LockoutSettings {
    /// How long the account is locked for its `previous`+1-th lock in a row.
    pub fn lock_secs(&self, previous: i64) -> i64 {
        let doubled = self.first_lock_secs.saturating_mul(1_i64 << previous.clamp(0, 32));
        doubled.min(self.max_lock_secs).max(1)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ScopeSettings {
    #[serde(deserialize_with = "string_or_list")]
    pub available: Vec<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub default: Vec<String>,
    /// What the consent page says a scope lets the client do.
    #[serde(default)]
    pub descriptions: BTreeMap<String, String>,
}

/// Sign-in sessions of the browser pages.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SessionSettings {
    /// A session ends this long after sign-in; the next authorization asks for the password again.
    pub lifetime_secs: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthorizationSettings {
    /// How long an authorization code may be exchanged (RFC 6749 §4.1.2 recommends at most 10 minutes).
    pub code_lifetime_secs: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OidcSettings {
    /// A PKCS#8 PEM RSA key to sign with when the database has none yet; empty: generate one.
    pub signing_key_file: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IntrospectionSettings {
    /// Answer `{"active": false}` to a caller outside the token's audience: a client whose `audiences` do
    /// not list the token's `aud`, or a bearer whose own token is for another audience.
    pub restrict_to_audience: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RevocationSettings {
    /// How long revocation events stay in the log: a resource server away for longer starts over (it drops
    /// every token it trusts) instead of resuming.
    pub retention_secs: i64,
    /// An idle event stream sends a comment this often, so that the reader can tell a quiet stream from a
    /// dead one.
    pub heartbeat_secs: u64,
    /// Each stream also reads the log this often without being woken: events appended by another process on
    /// SQLite (the admin CLI) wake nobody.
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JanitorSettings {
    /// 0 disables the janitor.
    pub interval_secs: u64,
    pub batch_size: i64,
}

/// A client that start-up creates, or brings back to exactly this definition.
#[derive(Clone, Deserialize, Serialize)]
pub struct BootstrapClient {
    pub client_id: String,
    /// Absent for a public client.
    #[serde(default, serialize_with = "config_loader::redact_option")]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub grant_types: Vec<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub scopes: Vec<String>,
    #[serde(default, deserialize_with = "string_or_list")]
    pub redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "string_or_list")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "string_or_list")]
    pub allowed_origins: Vec<String>,
    /// A first-party client: no consent page.
    #[serde(default)]
    pub skip_consent: bool,
    /// A confidential client may be allowed the code flow without PKCE (RFC 9700 §2.1.1 discourages it).
    #[serde(default)]
    pub allow_no_pkce: bool,
    /// `opaque` (default) or `jwt`.
    #[serde(default)]
    pub access_token_format: crate::service::registration::AccessTokenFormat,
    /// The resources it may ask tokens for (RFC 8707 identifiers); empty: any registered one.
    #[serde(default, deserialize_with = "string_or_list")]
    pub audiences: Vec<String>,
}

/// A resource (API) tokens may be minted for, from the settings: created, or brought back to this
/// definition, at every start.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BootstrapResource {
    /// Its RFC 8707 identifier: an absolute URI, the resource server's `auth.audience`.
    pub identifier: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The scopes a token for it may carry.
    #[serde(deserialize_with = "string_or_list")]
    pub scopes: Vec<String>,
}

impl BootstrapClient {
    pub fn profile(&self) -> crate::service::registration::ClientProfile {
        crate::service::registration::ClientProfile {
            name: self.name.clone().unwrap_or_else(|| self.client_id.clone()),
            grant_types: self.grant_types.clone(),
            scopes: self.scopes.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            allowed_origins: self.allowed_origins.clone(),
            skip_consent: self.skip_consent,
            require_pkce: !self.allow_no_pkce,
            access_token_format: self.access_token_format,
            audiences: self.audiences.clone(),
        }
    }
}

impl std::fmt::Debug for BootstrapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("redirect_uris", &self.redirect_uris)
            .field("allowed_origins", &self.allowed_origins)
            .field("skip_consent", &self.skip_consent)
            .field("allow_no_pkce", &self.allow_no_pkce)
            .field("access_token_format", &self.access_token_format)
            .field("audiences", &self.audiences)
            .finish()
    }
}

impl Settings {
    /// The defaults, then `file`, then `AUTH_SERVER__*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, config::ConfigError> {
        Self::from_sources(file, Some(ENV_PREFIX))
    }

    /// The defaults, then `file`; never the environment.
    pub fn load_without_environment(file: Option<&Path>) -> Result<Self, config::ConfigError> {
        Self::from_sources(file, None)
    }

    fn from_sources(file: Option<&Path>, env_prefix: Option<&str>) -> Result<Self, config::ConfigError> {
        let settings: Settings = config_loader::load(DEFAULTS, file, env_prefix)?;
        settings.validate().map_err(config::ConfigError::Message)?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        if !(4..=31).contains(&self.security.bcrypt_cost) {
            return Err(format!("security.bcrypt_cost must be 4..=31, not {}", self.security.bcrypt_cost));
        }
        let tokens = &self.tokens;
        if [
            tokens.access_token_lifetime_secs,
            tokens.refresh_token_lifetime_secs,
            tokens.jwt_access_token_lifetime_secs,
        ]
        .iter()
        .any(|lifetime| *lifetime <= 0)
        {
            return Err("token lifetimes must be positive".into());
        }
        let lockout = &self.lockout;
        if lockout.max_failures < 0
            || lockout.window_secs <= 0
            || lockout.first_lock_secs <= 0
            || lockout.max_lock_secs < lockout.first_lock_secs
        {
            return Err("lockout: max_failures >= 0, window_secs and first_lock_secs > 0, \
                        max_lock_secs >= first_lock_secs"
                .into());
        }
        shared_core::client_ip::TrustedProxies::parse(&self.http.trusted_proxies)?;
        self.metrics.validate()?;
        if self.sessions.lifetime_secs <= 0 || self.authorization.code_lifetime_secs <= 0 {
            return Err("sessions.lifetime_secs and authorization.code_lifetime_secs must be positive".into());
        }
        for scope in &self.scopes.default {
            if !self.scopes.available.contains(scope) {
                return Err(format!("default scope {scope:?} is not in scopes.available"));
            }
        }
        Ok(())
    }

    /// The issuer, or `http://HOST:PORT` of the bound address.
    pub fn issuer_for(&self, bound: std::net::SocketAddr) -> String {
        if self.issuer.is_empty() {
            format!("http://{bound}")
        } else {
            self.issuer.trim_end_matches('/').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn each_lock_lasts_twice_the_one_before_up_to_the_cap() {
        let lockout = LockoutSettings { max_failures: 5, window_secs: 900, first_lock_secs: 60, max_lock_secs: 900 };
        let locks: Vec<i64> = (0..7).map(|previous| lockout.lock_secs(previous)).collect();
        assert_eq!(locks, [60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(lockout.lock_secs(1000), 900);
    }

    #[test]
    fn the_example_file_loads_and_names_every_setting() {
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/auth-server.example.toml");
        let settings = Settings::load_without_environment(Some(&example)).unwrap();
        assert_eq!(settings.http.port, 8000);
        let missing = config_loader::keys_missing_from(DEFAULTS, &example).unwrap();
        assert!(missing.is_empty(), "config/auth-server.example.toml lacks {missing:?}");
    }
}
