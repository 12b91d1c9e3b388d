//! The access log both servers write, on the log target `access`: one line per request with the client's
//! address (through trusted proxies), method, path without the query string (it could carry a token),
//! status, body size and the time to the response's head. Never headers or bodies. Written inside the
//! request's context, so the line carries its request id like every other line the request causes.

use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::request_context;

/// The access log's target (`RUST_LOG=info,access=off` hides it).
pub const TARGET: &str = "access";

/// The middleware (`from_fn(access_log::middleware)`, inside `request_context::middleware`). When its lines
/// would be filtered out it costs one level check: nothing is measured or formatted.
pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    if !log::log_enabled!(target: TARGET, log::Level::Info) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let response = next.call(req).await?;
    let size = match response.response().body().size() {
        BodySize::Sized(bytes) => bytes.to_string(),
        BodySize::None => "0".to_owned(),
        BodySize::Stream => "-".to_owned(),
    };
    let client = request_context::client_ip().map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    log::info!(
        target: TARGET,
        "{client} {method} {path} {} {size} {:.3}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(response)
}
