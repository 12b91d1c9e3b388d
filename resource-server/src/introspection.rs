//! Bearer token validation: an in-memory cache in front of RFC 7662 introspection.
//!
//! Entries are keyed by the token's SHA-256 digest (the token itself is never stored). An active token is
//! trusted for `min(exp - now, ttl)`, so a revocation at the auth server is honoured within `ttl`; an
//! inactive one is remembered for `negative_ttl`, so junk tokens do not cost a round trip each. Concurrent
//! misses for one token make a single introspection call: moka serialises compute operations per key and
//! the waiters find the fresh entry. When the auth server is unreachable, an active entry that has fallen
//! due is served for up to `stale_grace` more (never past `exp`); everything else gets 503.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::ops::compute::{CompResult, Op};
use shared_core::clock;
use shared_core::digest::token_digest_bytes;
use shared_core::oauth::IntrospectionResponse;
use shared_core::report::Chain;

use crate::auth_client::AuthClient;
use crate::db;
use crate::error::Error;
use crate::settings::CacheSettings;
use shared_core::db::DbPool;

/// Who a valid token speaks for.
#[derive(Debug)]
pub struct Principal {
    /// The local mirror of the token's user; `None` for a client_credentials token.
    pub user: Option<LocalUser>,
    pub scope: String,
    pub client_id: String,
}

#[derive(Debug, Clone)]
pub struct LocalUser {
    pub id: i64,
    pub email: String,
}

#[derive(Debug, Clone)]
pub enum Validation {
    Active(Arc<Principal>),
    Inactive,
}

struct Entry {
    validation: Validation,
    fresh_until: Instant,
    /// When the entry leaves the cache; past `fresh_until` it is only served while the auth server is down.
    stale_until: Instant,
}

struct ExpireAtStaleEnd;

impl moka::Expiry<[u8; 32], Arc<Entry>> for ExpireAtStaleEnd {
    fn expire_after_create(&self, _: &[u8; 32], entry: &Arc<Entry>, now: Instant) -> Option<Duration> {
        Some(entry.stale_until.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &[u8; 32],
        entry: &Arc<Entry>,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.stale_until.saturating_duration_since(now))
    }
}

pub struct TokenValidator {
    cache: moka::future::Cache<[u8; 32], Arc<Entry>>,
    settings: CacheSettings,
    auth: Arc<AuthClient>,
    pool: DbPool,
}

impl TokenValidator {
    pub fn new(settings: CacheSettings, auth: Arc<AuthClient>, pool: DbPool) -> Self {
        let cache =
            moka::future::Cache::builder().max_capacity(settings.max_entries).expire_after(ExpireAtStaleEnd).build();
        Self { cache, settings, auth, pool }
    }

    /// Validates a bearer token at time `now`, from the cache when it can.
    pub async fn validate(&self, token: &str, now: Instant) -> Result<Validation, Error> {
        let key = token_digest_bytes(token);
        if let Some(entry) = self.cache.get(&key).await {
            if now < entry.fresh_until {
                return Ok(entry.validation.clone());
            }
        }
        let computed = self
            .cache
            .entry(key)
            .and_try_compute_with(|current| async move {
                let current = current.map(|e| e.into_value());
                if current.as_ref().is_some_and(|e| now < e.fresh_until) {
                    return Ok(Op::Nop); // another request refreshed it while this one waited
                }
                match self.introspect(token, now).await {
                    Ok(entry) => Ok(Op::Put(Arc::new(entry))),
                    Err(Error::AuthServer(reason)) => match current {
                        Some(e) if matches!(e.validation, Validation::Active(_)) && now < e.stale_until => {
                            log::warn!("serving a cached token past its TTL: {}", Chain(&reason));
                            Ok(Op::Nop)
                        }
                        _ => Err(Error::AuthServer(reason)),
                    },
                    Err(e) => Err(e),
                }
            })
            .await?;
        match computed {
            CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) | CompResult::Unchanged(entry) => {
                Ok(entry.into_value().validation.clone())
            }
            // Cannot happen: the computation above puts an entry, keeps an existing one, or fails. Were it to,
            // the token is refused (fail closed).
            CompResult::StillNone(_) | CompResult::Removed(_) => Ok(Validation::Inactive),
        }
    }

    /// Introspects and, for a user's token, mirrors the user locally.
    async fn introspect(&self, token: &str, now: Instant) -> Result<Entry, Error> {
        let answer = self.auth.introspect(token).await?;
        let wall_now = clock::now();
        let remaining = answer.exp.map(|exp| exp - wall_now);
        let inactive = || Entry {
            validation: Validation::Inactive,
            fresh_until: now + Duration::from_secs(self.settings.negative_ttl_secs),
            stale_until: now + Duration::from_secs(self.settings.negative_ttl_secs),
        };
        if !answer.active || remaining.is_some_and(|r| r <= 0) {
            return Ok(inactive());
        }
        let Some(principal) = self.principal(answer).await? else { return Ok(inactive()) };
        let lifetime = remaining.map_or(u64::MAX, |r| r as u64);
        let fresh = self.settings.ttl_secs.min(lifetime);
        let stale = lifetime.min(fresh.saturating_add(self.settings.stale_grace_secs));
        Ok(Entry {
            validation: Validation::Active(Arc::new(principal)),
            fresh_until: now + Duration::from_secs(fresh),
            stale_until: now + Duration::from_secs(stale),
        })
    }

    async fn principal(&self, answer: IntrospectionResponse) -> Result<Option<Principal>, Error> {
        let user = match (answer.sub, answer.username) {
            (Some(subject), Some(email)) => {
                let stored = email.clone();
                let id =
                    db::write(&self.pool, move |c| Ok(db::users::upsert(c, &subject, &stored, clock::now())?)).await?;
                Some(LocalUser { id, email })
            }
            (None, None) => None,
            // A user token must name its user completely; anything else is not trusted.
            _ => return Ok(None),
        };
        Ok(Some(Principal {
            user,
            scope: answer.scope.unwrap_or_default(),
            client_id: answer.client_id.unwrap_or_default(),
        }))
    }

    /// Entries currently held (for memory measurements and tests).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Whether the cache holds an entry for the token with this SHA-256 digest (tests: the cache is keyed by
    /// digest, never by the token).
    pub fn holds_digest(&self, digest: &[u8; 32]) -> bool {
        self.cache.contains_key(digest)
    }

    /// Applies pending evictions now (moka does it lazily), so that `entry_count` is exact.
    pub async fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks().await;
    }
}
