//! What every request handler shares, and what the services take: built once at start-up, or by a test
//! that calls the services without HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use shared_core::db::DbPool;
use shared_core::oauth::Scopes;
use shared_core::rate_limit::IpRateLimiter;

use crate::password::PasswordHasher;
use crate::service::access_jwt::AccessTokenSigner;
use crate::service::client_auth::ClientAuthenticator;
use crate::service::keys::SigningKeys;
use crate::service::origins::AllowedOrigins;
use crate::service::revocation_events::RevocationFeed;
use crate::settings::Settings;
use crate::startup::StartupError;

pub struct AppState {
    pub pool: DbPool,
    pub hasher: PasswordHasher,
    pub clients: ClientAuthenticator,
    pub policy: TokenPolicy,
    /// `iss` of introspection answers and of the RFC 8414 metadata.
    pub issuer: String,
    pub available_scopes: Scopes,
    pub metrics: Arc<Metrics>,
    /// The OpenID Connect signing keys (id_tokens, the JWKS).
    pub keys: Arc<SigningKeys>,
    /// Browser origins the CORS endpoints answer.
    pub origins: Arc<AllowedOrigins>,
    pub browser: BrowserPolicy,
    pub lockout: crate::settings::LockoutSettings,
    /// Wakes the revocation event streams of this instance.
    pub revocations: Arc<RevocationFeed>,
}

/// How the browser sign-in pages behave.
#[derive(Debug, Clone)]
pub struct BrowserPolicy {
    pub session_lifetime: i64,
    pub code_lifetime: i64,
    /// Cookies carry `Secure` when the issuer is https.
    pub secure_cookies: bool,
    /// What the consent page says each scope allows.
    pub scope_descriptions: BTreeMap<String, String>,
}

impl AppState {
    /// Starts the password hasher's threads and gathers what the services need.
    pub async fn new(
        settings: &Settings,
        pool: DbPool,
        issuer: String,
        keys: Arc<SigningKeys>,
    ) -> Result<Self, StartupError> {
        let security = settings.security.clone();
        let per_ip = IpRateLimiter::new(&settings.rate_limit, "credential_checks");
        let hasher = tokio::task::spawn_blocking(move || {
            PasswordHasher::start(security.hasher_threads, security.hasher_queue, security.bcrypt_cost, per_ip)
        })
        .await??;
        Ok(Self {
            pool,
            hasher,
            clients: ClientAuthenticator::new(settings.security.client_cache_size)?,
            policy: TokenPolicy {
                access_token_lifetime: settings.tokens.access_token_lifetime_secs,
                refresh_token_lifetime: settings.tokens.refresh_token_lifetime_secs,
                default_scopes: Scopes::from_iter(settings.scopes.default.iter().cloned()),
                jwt: Arc::new(AccessTokenSigner {
                    issuer: issuer.clone(),
                    audience: match settings.tokens.default_audience.as_str() {
                        "" => issuer.clone(),
                        audience => audience.to_owned(),
                    },
                    lifetime: settings.tokens.jwt_access_token_lifetime_secs,
                    keys: keys.clone(),
                }),
                introspection_restricted_to_audience: settings.introspection.restrict_to_audience,
            },
            available_scopes: Scopes::from_iter(settings.scopes.available.iter().cloned()),
            metrics: Arc::default(),
            keys,
            origins: Arc::default(),
            browser: BrowserPolicy {
                session_lifetime: settings.sessions.lifetime_secs,
                code_lifetime: settings.authorization.code_lifetime_secs,
                secure_cookies: issuer.starts_with("https://"),
                scope_descriptions: settings.scopes.descriptions.clone(),
            },
            lockout: settings.lockout.clone(),
            issuer,
            revocations: RevocationFeed::new(settings.revocation.clone()),
        })
    }
}

/// In-process counters, readable by whoever holds the [`Application`](crate::Application) (tests count
/// introspection calls with them).
#[derive(Debug, Default)]
pub struct Metrics {
    pub introspections: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub default_scopes: Scopes,
    /// Signs the access tokens of clients whose format is `jwt`.
    pub jwt: Arc<AccessTokenSigner>,
    /// Introspection tells a caller only about tokens for its own audiences.
    pub introspection_restricted_to_audience: bool,
}
