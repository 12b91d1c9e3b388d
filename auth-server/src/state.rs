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
}

#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub default_scopes: Scopes,
}
