//! What every handler shares.

use std::sync::Arc;

use shared_core::db::DbPool;

use crate::auth_client::AuthClient;
use crate::introspection::TokenValidator;

pub struct AppState {
    pub pool: DbPool,
    pub auth: Arc<AuthClient>,
    pub tokens: TokenValidator,
    /// Per client IP: the account calls it may proxy.
    pub account_calls: shared_core::rate_limit::IpRateLimiter,
}
