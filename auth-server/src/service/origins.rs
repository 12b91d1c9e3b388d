//! Which browser origins may call the endpoints that answer CORS requests: the union of every client's
//! `allowed_origins`, kept in memory and reloaded with the signing keys (a change made by the CLI in another
//! process is picked up that soon). A preflight cannot say which client it is for, so an origin registered by
//! one client may call these endpoints with another client's credentials: CORS protects users' browsers from
//! unknown sites, it does not authenticate clients (their secrets, codes and PKCE verifiers do).

use std::collections::HashSet;
use std::sync::RwLock;

use shared_core::config_loader::split_list;
use shared_core::db::DbPool;

use crate::db::{self, clients};
use crate::error::Error;

#[derive(Debug, Default)]
pub struct AllowedOrigins(RwLock<HashSet<String>>);

impl AllowedOrigins {
    /// Is `origin` registered by some client? Exact match (scheme, host and port, RFC 6454).
    pub fn allows(&self, origin: &str) -> bool {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains(origin)
    }

    /// Reads every client's origins again.
    pub async fn reload(&self, pool: &DbPool) -> Result<(), Error> {
        let rows = db::read(pool, |c| Ok(clients::list(c)?)).await?;
        let origins = rows.iter().flat_map(|row| split_list(&row.allowed_origins)).collect();
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = origins;
        Ok(())
    }
}
