//! The request some code is answering, for code far from its handler: the client's address (rate limits,
//! the audit trail) and its request id (every log line, error bodies, calls to the auth server). A
//! middleware sets it for the whole handler (a task-local, like a tracing span); work the handler hands to a
//! blocking thread takes it along ([`carry`]); code outside any request (the admin CLI, background tasks)
//! sees the default.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

use crate::client_ip::TrustedProxies;

/// The request id header both servers read (and the resource server passes on to the auth server).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: RequestContext;
}

#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The client's address, through trusted proxies only ([`TrustedProxies::client_ip`]).
    pub client_ip: Option<IpAddr>,
    /// The caller's `X-Request-Id` when it is a sane one, else one made here; none outside a request.
    pub request_id: Option<String>,
}

thread_local! {
    /// The context of the request whose work this thread is doing outside the request's task (a blocking
    /// pool's thread, see [`carry`]).
    static CARRIED: RefCell<Option<RequestContext>> = const { RefCell::new(None) };
}

/// Reads the context of the request being answered: its task's, else the one carried to this thread.
fn read<R>(f: impl Fn(&RequestContext) -> R) -> Option<R> {
    CURRENT.try_with(&f).ok().or_else(|| CARRIED.with_borrow(|carried| carried.as_ref().map(&f)))
}

/// The context of the request being answered; the default outside of one.
pub fn current() -> RequestContext {
    read(Clone::clone).unwrap_or_default()
}

/// The client address of the request being answered.
pub fn client_ip() -> Option<IpAddr> {
    read(|context| context.client_ip).flatten()
}

/// Calls `f` with the request id of the request being answered (none outside of one).
pub fn with_request_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let id = read(|context| context.request_id.clone()).flatten();
    f(id.as_deref())
}

/// `work`, to be run on another thread (`spawn_blocking`) in the context of the request being answered
/// now, so that the lines it logs carry the request's id. Outside a request it is `work` as it is.
pub fn carry<R>(work: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let context = CURRENT.try_with(Clone::clone).ok();
    move || {
        let Some(context) = context else { return work() };
        let _restore = Restore(CARRIED.replace(Some(context)));
        work()
    }
}

/// Puts back what this thread carried before, when the carried work ends (or panics).
struct Restore(Option<RequestContext>);

impl Drop for Restore {
    fn drop(&mut self) {
        CARRIED.set(self.0.take());
    }
}

/// Runs `future` as if it answered a request with `context` (tests, and code that starts its own task).
pub async fn scope<F: std::future::Future>(context: RequestContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// An id a caller may choose: 1 to 128 characters of letters, digits and `-_.:`; anything else is ignored
/// rather than copied into log lines.
pub fn well_formed_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// A new request id: this process's random prefix and a counter, unique across instances without a
/// random draw per request (`3f9c2a1b8d0e4f57-1a`).
pub fn new_request_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // RandomState's keys are drawn from the OS once per process: enough for an id, not a secret.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u128(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
        );
        hasher.finish()
    });
    format!("{prefix:016x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The context of `req`: the client's address through the app's `web::Data<TrustedProxies>` (none
/// registered: the socket's peer) and the request id (the caller's, else a new one).
pub fn of(req: &HttpRequest) -> RequestContext {
    let peer = req.peer_addr().map(|address| address.ip());
    let client_ip = match req.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.client_ip(peer, req.headers()),
        None => peer,
    };
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| well_formed_request_id(id))
        .map_or_else(new_request_id, str::to_owned);
    RequestContext { client_ip, request_id: Some(request_id) }
}

/// The middleware (`actix_web::middleware::from_fn(request_context::middleware)`, outermost): answers each
/// request inside its context and echoes its id in the `X-Request-Id` response header.
pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let context = of(req.request());
    let id = context.request_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok());
    let mut response = CURRENT.scope(context, next.call(req)).await?;
    if let Some(id) = id {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_context_is_seen_inside_its_scope_only() {
        assert!(client_ip().is_none());
        let context = RequestContext { client_ip: Some("192.0.2.1".parse().unwrap()), request_id: Some("r-1".into()) };
        let seen = scope(context, async { (client_ip(), current().request_id) }).await;
        assert_eq!(seen, (Some("192.0.2.1".parse().unwrap()), Some("r-1".into())));
        assert!(current().request_id.is_none());
    }

    #[tokio::test]
    async fn carried_work_sees_its_request_on_a_blocking_thread_and_then_forgets_it() {
        let id_on_a_blocking_thread = || async {
            tokio::task::spawn_blocking(carry(|| (with_request_id(|id| id.map(str::to_owned)), client_ip())))
                .await
                .unwrap()
        };
        assert_eq!(id_on_a_blocking_thread().await, (None, None), "outside a request");
        let context = RequestContext { client_ip: Some("192.0.2.3".parse().unwrap()), request_id: Some("r-3".into()) };
        let seen = scope(context, id_on_a_blocking_thread()).await;
        assert_eq!(seen, (Some("r-3".into()), Some("192.0.2.3".parse().unwrap())));
        // The blocking pool keeps its thread: what it carried is gone with the work.
        let after = tokio::task::spawn_blocking(|| with_request_id(|id| id.map(str::to_owned))).await.unwrap();
        assert_eq!(after, None);
    }

    #[tokio::test]
    async fn the_request_id_is_lent_inside_a_request_only() {
        assert_eq!(with_request_id(|id| id.map(str::to_owned)), None);
        let context = RequestContext { client_ip: None, request_id: Some("r-2".into()) };
        let seen = scope(context, async { with_request_id(|id| id.map(str::to_owned)) }).await;
        assert_eq!(seen.as_deref(), Some("r-2"));
    }

    #[test]
    fn new_request_ids_differ_and_are_well_formed() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert!(well_formed_request_id(&a) && a.len() > 17, "{a}");
    }

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(well_formed_request_id("3f2c-41.a_b:9"));
        for bad in ["", "a b", "x\ny", "ü", &"a".repeat(129)] {
            assert!(!well_formed_request_id(bad), "{bad:?}");
        }
    }
}
