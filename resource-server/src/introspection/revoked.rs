//! Revocation events applied to the cache. An introspected token's entry is dropped, and its next use asks
//! the auth server again. A JWT is verified here and would pass again, so what the events ended is also
//! remembered: digests, and per user and per client the time before which tokens ended.

use std::time::Duration;

use shared_core::revocation::RevocationEvent;

use super::{Principal, TokenValidator, Validation};
use crate::jwt::AccessClaims;

/// How long an ended JWT is remembered: longer than any access token this project issues (5 minutes for
/// JWTs); a JWT of another issuer that lives longer is refused only while remembered.
const REMEMBERED: Duration = Duration::from_secs(24 * 3600);

/// Tokens issued before `before` ended, except the one with digest `kept`.
#[derive(Debug, Clone)]
struct Floor {
    before: i64,
    kept: Option<[u8; 32]>,
}

impl Floor {
    fn ends(&self, key: &[u8; 32], issued_at: Option<i64>) -> bool {
        // A token that does not say when it was issued may be older than the floor.
        issued_at.is_none_or(|iat| iat < self.before) && self.kept.as_ref() != Some(key)
    }
}

pub(super) struct Revoked {
    digests: moka::sync::Cache<[u8; 32], ()>,
    users: moka::sync::Cache<String, Floor>,
    clients: moka::sync::Cache<String, Floor>,
}

impl Revoked {
    pub(super) fn new(capacity: u64) -> Self {
        Self { digests: remembered(capacity), users: remembered(capacity), clients: remembered(capacity) }
    }

    /// Did an event end this JWT (digest `key`)?
    pub(super) fn ends(&self, key: &[u8; 32], claims: &AccessClaims) -> bool {
        self.digests.contains_key(key)
            || self.users.get(&claims.sub).is_some_and(|floor| floor.ends(key, claims.iat))
            || self.clients.get(&claims.client_id).is_some_and(|floor| floor.ends(key, claims.iat))
    }

    /// Keeps the later of two floors for the same user or client.
    fn raise(floors: &moka::sync::Cache<String, Floor>, name: String, floor: Floor) {
        match floors.get(&name) {
            Some(existing) if existing.before >= floor.before => {}
            _ => floors.insert(name, floor),
        }
    }
}

fn remembered<K, V>(capacity: u64) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder().max_capacity(capacity).time_to_live(REMEMBERED).build()
}

fn digest(hex_digest: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut key).ok()?;
    Some(key)
}

impl TokenValidator {
    /// Applies one revocation event: what it ended is no longer served from the cache, nor accepted as a JWT.
    pub async fn apply(&self, event: RevocationEvent) {
        let inner = &self.inner;
        match event {
            RevocationEvent::Tokens { digests } => self.end_digests(&digests).await,
            RevocationEvent::User { sub, issued_before, kept, digests } => {
                self.end_digests(&digests).await;
                let floor = Floor { before: issued_before, kept: kept.as_deref().and_then(digest) };
                self.drop_matching(|key, p| p.subject.as_deref() == Some(sub.as_str()) && floor.ends(key, p.issued_at))
                    .await;
                Revoked::raise(&inner.revoked.users, sub, floor);
            }
            RevocationEvent::Client { client_id, issued_before } => {
                let floor = Floor { before: issued_before, kept: None };
                self.drop_matching(|key, p| p.client_id == client_id && floor.ends(key, p.issued_at)).await;
                Revoked::raise(&inner.revoked.clients, client_id, floor);
            }
        }
    }

    async fn end_digests(&self, digests: &[String]) {
        for key in digests.iter().filter_map(|d| digest(d)) {
            self.inner.revoked.digests.insert(key, ());
            self.inner.cache.invalidate(&key).await;
        }
    }

    /// The auth server cannot tell what ended while this server was away: nothing cached is trusted.
    pub fn forget_everything(&self) {
        self.inner.cache.invalidate_all();
    }

    /// Drops the active entries whose principal `ends`. A scan of the whole cache: user-wide and client-wide
    /// events are rare.
    async fn drop_matching(&self, ends: impl Fn(&[u8; 32], &Principal) -> bool) {
        let doomed: Vec<[u8; 32]> = self
            .inner
            .cache
            .iter()
            .filter_map(|(key, entry)| match &entry.validation {
                Validation::Active(principal) if ends(&key, principal) => Some(*key),
                _ => None,
            })
            .collect();
        for key in doomed {
            self.inner.cache.invalidate(&key).await;
        }
    }
}
