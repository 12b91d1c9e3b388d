//! Bearer token validation: an in-memory cache in front of RFC 7662 introspection, built to degrade
//! gracefully when the auth server is slow or down.
//!
//! Entries are keyed by the token's SHA-256 digest (the token itself is never stored). An active token is
//! trusted for `min(exp - now, ttl)`, so a revocation at the auth server is honoured within `ttl`; an
//! inactive one is remembered for `negative_ttl`, so junk tokens do not cost a round trip each.
//!
//! One introspection per token at a time (a "flight"): concurrent callers for the same token share its
//! answer. A due active entry is served as it is, at once, while another caller's flight for it is out or
//! while the circuit breaker says the auth server is failing; it stays servable for `stale_grace` past
//! its TTL (never past `exp`). The caller whose request renews a due entry waits for the renewal at most
//! `revalidate_wait`, then is answered from the entry while the renewal goes on. Nobody waits in line
//! behind another caller's introspection, and no request waits more than one introspection timeout. At most `max_concurrent` flights run at once; beyond that,
//! and while the circuit is open, a token without a usable entry gets 503 at once.

mod breaker;
mod revoked;
mod trust;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use shared_core::clock;
use shared_core::db::DbPool;
use shared_core::digest::token_digest_bytes;
use shared_core::oauth::IntrospectionResponse;
use shared_core::report::{Chain, Throttle};
use shared_core::request_context;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use self::breaker::{BreakerState, CircuitBreaker};
use self::revoked::Revoked;
use self::trust::Trust;
pub use self::trust::{StreamState, StreamTrust};
use crate::auth_client::AuthClient;
use crate::db;
use crate::error::{Error, UpstreamError};
use crate::jwt::{self, JwtError, JwtValidator};
use crate::metrics::CacheMetrics;
use crate::settings::{AuthSettings, CacheSettings};

/// Who a valid token speaks for.
#[derive(Debug)]
pub struct Principal {
    /// The local mirror of the token's user; `None` for a client_credentials token.
    pub user: Option<LocalUser>,
    pub scope: String,
    pub client_id: String,
    /// `sub` and `iat`, when known: user-wide and client-wide revocation events name tokens by them.
    pub subject: Option<String>,
    pub issued_at: Option<i64>,
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
    /// Fresh until then while the revocation stream is live...
    fresh_until: Instant,
    /// ... and until then without it.
    short_until: Instant,
    cached_at: Instant,
    /// When the entry leaves the cache; past freshness it is only served while it cannot be renewed.
    stale_until: Instant,
}

impl Entry {
    /// An entry good until `until` whatever the stream does (a JWT's answer, an inactive token).
    fn until(validation: Validation, now: Instant, until: Instant) -> Self {
        Self { validation, fresh_until: until, short_until: until, cached_at: now, stale_until: until }
    }

    fn is_fresh(&self, now: Instant, trust: Trust) -> bool {
        match trust {
            Trust::Stream => now < self.fresh_until,
            Trust::NoStream => now < self.short_until,
            Trust::LostSince(lost) => self.cached_at >= lost && now < self.short_until,
        }
    }

    /// Servable as it is at `now`, though due: active and within its grace.
    fn servable_stale(&self, now: Instant) -> bool {
        matches!(self.validation, Validation::Active(_)) && now < self.stale_until
    }
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

/// Users remembered by `sub` for JWTs, and for how long (their displayed name may change meanwhile).
const USERS_BY_SUB: u64 = 10_000;
const USER_NAME_TTL: Duration = Duration::from_secs(60);

/// Failed introspections come in bursts when the auth server goes down: one line a second says so.
static FAILURE_LOG: Throttle = Throttle::new(Duration::from_secs(1));

/// One introspection, shared by every caller that asks about the same token meanwhile.
type Flight = Shared<BoxFuture<'static, Result<Arc<Entry>, Arc<Error>>>>;

#[derive(Clone)]
pub struct TokenValidator {
    inner: Arc<Inner>,
}

struct Inner {
    cache: moka::future::Cache<[u8; 32], Arc<Entry>>,
    settings: CacheSettings,
    auth: Arc<AuthClient>,
    pool: DbPool,
    breaker: CircuitBreaker,
    flights: Mutex<HashMap<[u8; 32], Flight>>,
    /// One permit per introspection call allowed out at once.
    slots: Arc<Semaphore>,
    /// How long a request whose entry has fallen due waits for its renewal before the entry answers.
    revalidate_wait: Duration,
    /// JWT access tokens are checked here, without a call to the auth server.
    jwt: JwtValidator,
    /// This resource server's identifier (`auth.audience`): tokens must be for it.
    audience: Option<String>,
    /// Local users by `sub`, for JWTs: a user's every new token would otherwise cost a database read.
    users_by_sub: moka::future::Cache<String, LocalUser>,
    /// How far cached answers are trusted: the revocation stream's state.
    trust: Arc<StreamTrust>,
    /// What revocation events ended, for JWTs (which are verified here, not introspected).
    revoked: Revoked,
    metrics: CacheMetrics,
}

impl TokenValidator {
    pub fn new(
        settings: CacheSettings,
        auth_settings: &AuthSettings,
        auth: Arc<AuthClient>,
        pool: DbPool,
        trust: Arc<StreamTrust>,
    ) -> Self {
        let cache =
            moka::future::Cache::builder().max_capacity(settings.max_entries).expire_after(ExpireAtStaleEnd).build();
        let breaker =
            CircuitBreaker::new(auth_settings.breaker_failures, Duration::from_millis(auth_settings.breaker_open_ms));
        let revalidate_wait = Duration::from_millis(settings.revalidate_wait_ms);
        let audience = Some(auth_settings.audience.clone()).filter(|a| !a.is_empty());
        let jwt =
            JwtValidator::new(auth.clone(), audience.clone(), Duration::from_secs(auth_settings.jwks_refetch_secs));
        let users_by_sub =
            moka::future::Cache::builder().max_capacity(USERS_BY_SUB).time_to_live(USER_NAME_TTL).build();
        let revoked = Revoked::new(settings.max_entries);
        let inner = Inner {
            trust,
            revoked,
            audience,
            jwt,
            users_by_sub,
            cache,
            settings,
            auth,
            pool,
            breaker,
            flights: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(auth_settings.max_concurrent_introspections.max(1))),
            revalidate_wait,
            metrics: CacheMetrics::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Validates a bearer token at time `now`, from the cache when it can.
    pub async fn validate(&self, token: &str, now: Instant) -> Result<Validation, Error> {
        let key = token_digest_bytes(token);
        let cached = self.inner.cache.get(&key).await;
        if let Some(entry) = &cached {
            if entry.is_fresh(now, self.inner.trust.trust()) {
                let metrics = &self.inner.metrics;
                match entry.validation {
                    Validation::Active(_) => metrics.hits.increment(1),
                    Validation::Inactive => metrics.negative_hits.increment(1),
                }
                return Ok(entry.validation.clone());
            }
        }
        self.inner.metrics.misses.increment(1);
        if let Some(header) = jwt::access_jwt_header(token) {
            // Verified here: no introspection, no flight, no breaker.
            return self.inner.validate_jwt(key, token, header, now).await;
        }
        let stale = cached.filter(|entry| entry.servable_stale(now));
        if let Some(flight) = self.inner.flight(&key) {
            // Someone is already asking: a servable entry is served at once, anything else waits for that answer.
            return match stale {
                Some(stale) => Ok(self.inner.serve_stale(&stale)),
                None => flight.await.map(|entry| entry.validation.clone()).map_err(Error::Introspection),
            };
        }
        let flight = match self.inner.clone().start_flight(key, token, now) {
            Ok(flight) => flight,
            // The circuit is open or every slot is taken: no call now.
            Err(refused) => {
                if let Error::AuthServer(reason) = &refused {
                    crate::metrics::introspection_failed(reason);
                }
                return match stale {
                    Some(stale) => Ok(self.inner.serve_stale(&stale)),
                    None => Err(refused),
                };
            }
        };
        let answer = match &stale {
            // A due entry is worth waiting for only so long: past that, it answers, and the introspection
            // goes on in its task to renew the entry for the next request.
            Some(stale) => match tokio::time::timeout(self.inner.revalidate_wait, flight).await {
                Ok(answer) => answer,
                Err(_) => return Ok(self.inner.serve_stale(stale)),
            },
            None => flight.await,
        };
        match answer {
            Ok(entry) => Ok(entry.validation.clone()),
            // Stale-if-error: the auth server failed to answer, the entry is still within its grace.
            Err(error) if matches!(*error, Error::AuthServer(_)) => match stale {
                Some(stale) => {
                    log::debug!("serving a cached token past its TTL: {}", Chain(&*error));
                    Ok(self.inner.serve_stale(&stale))
                }
                None => Err(Error::Introspection(error)),
            },
            Err(error) => Err(Error::Introspection(error)),
        }
    }

    /// Introspection calls out now (for tests and diagnostics).
    pub fn introspections_in_flight(&self) -> usize {
        self.inner.flights().len()
    }

    /// The revocation stream's state, for `/health/ready`.
    pub fn stream_state(&self) -> StreamState {
        self.inner.trust.state()
    }

    /// The circuit breaker's state, for `/health/ready`.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// Entries currently held (for memory measurements and tests).
    pub fn entry_count(&self) -> u64 {
        self.inner.cache.entry_count()
    }

    /// Sets the cache's entry gauge (called every few seconds: moka counts lazily anyway).
    pub fn report_entries(&self) {
        self.inner.metrics.entries.set(self.inner.cache.entry_count() as f64);
    }

    /// Whether the cache holds an entry for the token with this SHA-256 digest (tests: the cache is keyed by
    /// digest, never by the token).
    pub fn holds_digest(&self, digest: &[u8; 32]) -> bool {
        self.inner.cache.contains_key(digest)
    }

    /// Applies pending evictions now (moka does it lazily), so that `entry_count` is exact.
    pub async fn run_pending_tasks(&self) {
        self.inner.cache.run_pending_tasks().await;
    }
}

impl Inner {
    /// A due entry answers, within its grace.
    fn serve_stale(&self, entry: &Entry) -> Validation {
        self.metrics.stale_served.increment(1);
        entry.validation.clone()
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Flight>> {
        // Every update is one insert or remove: a panic elsewhere cannot leave the map half-written.
        self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn flight(&self, key: &[u8; 32]) -> Option<Flight> {
        self.flights().get(key).cloned()
    }

    /// Starts the introspection of `token`, or joins the one another caller started a moment ago. Refused,
    /// with the reason, while the circuit is open or when every slot is taken.
    fn start_flight(self: Arc<Self>, key: [u8; 32], token: &str, now: Instant) -> Result<Flight, Error> {
        let mut flights = self.flights();
        if let Some(flight) = flights.get(&key) {
            return Ok(flight.clone());
        }
        let slot = self.slots.clone().try_acquire_owned().map_err(|_| UpstreamError::Saturated)?;
        if !self.breaker.allows(now) {
            return Err(UpstreamError::CircuitOpen.into());
        }
        // Its own task, so that it finishes (and frees its slot) even when every caller waiting on it is gone.
        // In the asking request's context: its id goes along to the auth server (and into the log lines).
        let context = request_context::current();
        let task = tokio::spawn(request_context::scope(context, self.clone().fly(key, token.to_owned(), now, slot)));
        let inner = self.clone();
        let flight = async move {
            task.await.unwrap_or_else(|_| {
                inner.flights().remove(&key);
                Err(Arc::new(Error::Misconfigured("an introspection task panicked")))
            })
        }
        .boxed()
        .shared();
        flights.insert(key, flight.clone());
        Ok(flight)
    }

    async fn fly(
        self: Arc<Self>,
        key: [u8; 32],
        token: String,
        now: Instant,
        slot: OwnedSemaphorePermit,
    ) -> Result<Arc<Entry>, Arc<Error>> {
        let started = Instant::now();
        let result = self.introspect(&token, now).await.map(Arc::new);
        drop(slot);
        match &result {
            Ok(entry) => {
                self.breaker.record_success();
                self.cache.insert(key, entry.clone()).await;
            }
            Err(Error::AuthServer(reason)) => {
                match FAILURE_LOG.admit() {
                    Some(0) => log::warn!("introspection failed: {}", Chain(reason)),
                    Some(held_back) => {
                        log::warn!("introspection failed: {} ({held_back} more since the last report)", Chain(reason))
                    }
                    None => log::debug!("introspection failed: {}", Chain(reason)),
                }
                self.breaker.record_failure(now + started.elapsed());
            }
            Err(_) => {}
        }
        self.flights().remove(&key);
        result.map_err(Arc::new)
    }

    /// Verifies a JWT access token and caches the outcome: a valid one until it expires (there is nobody
    /// to ask about it meanwhile), an invalid one for `negative_ttl`.
    async fn validate_jwt(
        &self,
        key: [u8; 32],
        token: &str,
        header: jsonwebtoken::Header,
        now: Instant,
    ) -> Result<Validation, Error> {
        let refused = now + Duration::from_secs(self.settings.negative_ttl_secs);
        let entry = match self.jwt.validate(token, header).await {
            Ok(claims) if self.revoked.ends(&key, &claims) => {
                log::debug!("refusing a revoked JWT access token");
                Entry::until(Validation::Inactive, now, refused)
            }
            Ok(claims) => {
                let lifetime = claims.exp.saturating_sub(u64::try_from(clock::now()).unwrap_or(0));
                let user = match claims.user() {
                    Some(subject) => Some(self.user_named_by_sub(subject).await?),
                    None => None,
                };
                let principal = Principal {
                    user,
                    scope: claims.scope,
                    client_id: claims.client_id,
                    subject: Some(claims.sub),
                    issued_at: claims.iat,
                };
                Entry::until(Validation::Active(Arc::new(principal)), now, now + Duration::from_secs(lifetime))
            }
            Err(JwtError::Invalid(reason)) => {
                log::debug!("refusing a JWT access token: {reason}");
                Entry::until(Validation::Inactive, now, refused)
            }
            Err(JwtError::Keys(error)) => return Err(error.into()),
        };
        let validation = entry.validation.clone();
        self.cache.insert(key, Arc::new(entry)).await;
        Ok(validation)
    }

    /// Introspects and, for a user's token, mirrors the user locally.
    async fn introspect(&self, token: &str, now: Instant) -> Result<Entry, Error> {
        let called = Instant::now();
        let answer = self.auth.introspect(token).await;
        crate::metrics::introspection_took(called.elapsed());
        let answer = answer.inspect_err(crate::metrics::introspection_failed)?;
        let wall_now = clock::now();
        let remaining = answer.exp.map(|exp| exp - wall_now);
        let inactive =
            || Entry::until(Validation::Inactive, now, now + Duration::from_secs(self.settings.negative_ttl_secs));
        if !answer.active || remaining.is_some_and(|r| r <= 0) {
            return Ok(inactive());
        }
        if let Some(audience) = &self.audience {
            // RFC 9700 §2.3: a token minted for another API (or naming none) is not for this one.
            if !answer.aud.as_ref().is_some_and(|aud| aud.contains(audience)) {
                log::debug!("refusing an introspected token for another audience");
                return Ok(inactive());
            }
        }
        let Some(principal) = self.principal(answer).await? else { return Ok(inactive()) };
        let lifetime = remaining.map_or(u64::MAX, |r| u64::try_from(r).unwrap_or(0));
        let fresh = self.settings.ttl_secs.min(lifetime);
        let short = self.settings.ttl_without_stream_secs.min(fresh);
        // Served stale (the auth server down) at most `stale_grace` past the short TTL, as without a stream:
        // a long TTL with the stream must not lengthen what an outage serves.
        let stale = lifetime.min(fresh.max(short.saturating_add(self.settings.stale_grace_secs)));
        Ok(Entry {
            validation: Validation::Active(Arc::new(principal)),
            fresh_until: now + Duration::from_secs(fresh),
            short_until: now + Duration::from_secs(short),
            cached_at: now,
            stale_until: now + Duration::from_secs(stale),
        })
    }

    async fn principal(&self, answer: IntrospectionResponse) -> Result<Option<Principal>, Error> {
        let user = match users::mirrored_user(&answer, &self.auth.endpoints().issuer) {
            Some(users::MirroredUser { key, name }) => {
                let stored = name.clone();
                let id = db::write(&self.pool, move |c| Ok(db::users::upsert(c, &key, &stored, clock::now())?)).await?;
                Some(LocalUser { id, email: name })
            }
            None => None,
        };
        Ok(Some(Principal {
            user,
            scope: answer.scope.unwrap_or_default(),
            client_id: answer.client_id.unwrap_or_default(),
            subject: answer.sub,
            issued_at: answer.iat,
        }))
    }
}
