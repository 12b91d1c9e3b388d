//! The request some code is answering, for code far from its handler: the client's address (rate limits,
//! the audit trail) and the caller's request id. A middleware sets it for the whole handler (a task-local,
//! like a tracing span); code outside any request (the admin CLI, background tasks) sees the default.

use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
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
    /// The caller's `X-Request-Id`, when it is a sane one.
    pub request_id: Option<String>,
}

/// The context of the request being answered; the default outside of one.
pub fn current() -> RequestContext {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

/// The client address of the request being answered.
pub fn client_ip() -> Option<IpAddr> {
    CURRENT.try_with(|context| context.client_ip).ok().flatten()
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

/// The context of `req`: the client's address through the app's `web::Data<TrustedProxies>` (none
/// registered: the socket's peer) and the request id.
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
        .map(str::to_owned);
    RequestContext { client_ip, request_id }
}

/// The middleware (`actix_web::middleware::from_fn(request_context::middleware)`): answers each request
/// inside its context.
pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let context = of(req.request());
    CURRENT.scope(context, next.call(req)).await
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

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(well_formed_request_id("3f2c-41.a_b:9"));
        for bad in ["", "a b", "x\ny", "ü", &"a".repeat(129)] {
            assert!(!well_formed_request_id(bad), "{bad:?}");
        }
    }
}
