//! What every request handler shares.

use shared_core::db::DbPool;
use shared_core::oauth::Scopes;

use crate::password::PasswordHasher;
use crate::service::client_auth::ClientAuthenticator;

pub struct AppState {
    pub pool: DbPool,
    pub hasher: PasswordHasher,
    pub clients: ClientAuthenticator,
    pub policy: TokenPolicy,
    /// `iss` of introspection answers and of the RFC 8414 metadata.
    pub issuer: String,
    pub available_scopes: Scopes,
    pub metrics: std::sync::Arc<Metrics>,
}

/// In-process counters, readable by whoever holds the [`Application`](crate::Application) (tests count
/// introspection calls with them).
#[derive(Debug, Default)]
pub struct Metrics {
    pub introspections: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub default_scopes: Scopes,
}
