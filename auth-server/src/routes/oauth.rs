//! The OAuth endpoints: token, introspection, revocation.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared_core::body;
use shared_core::clock;
use shared_core::oauth::{Authorization, TokenParameters, TokenRequest};
use shared_core::request::authorization;

use crate::error::Error;
use crate::service::client_auth::ClientCredentials;
use crate::service::grants;
use crate::service::introspection::{self, Caller};
use crate::service::{revocation, revocation_events};
use crate::state::AppState;

/// An OAuth endpoint's form body. RFC 6749 §5.2 has no 415: a body that is not form-encoded (an empty one
/// without `Content-Type` included) is an `invalid_request`.
async fn oauth_form<T: serde::de::DeserializeOwned>(req: &HttpRequest, payload: web::Payload) -> Result<T, Error> {
    body::form(req, payload).await.map_err(|error| match error {
        body::BodyError::UnsupportedMediaType(expected) => {
            Error::invalid_request(format!("the body must be {expected}"))
        }
        other => other.into(),
    })
}

/// `POST /o/token/`: RFC 6749 §4.1.3 (authorization_code, with RFC 7636 PKCE), §4.3 (password), §4.4
/// (client_credentials), §6 (refresh_token).
#[utoipa::path(post, path = "/o/token/", tag = "oauth",
    request_body(content = shared_core::oauth::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "Tokens issued (Cache-Control: no-store)", body = shared_core::oauth::TokenResponse),
        (status = 400, description = "invalid_request (also for a body that is not form-encoded, RFC 6749 §5.2), invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope, or invalid_target (RFC 8707: an unknown, malformed or forbidden resource)", body = shared_core::oauth::ErrorBody),
        (status = 401, description = "invalid_client (WWW-Authenticate: Basic)", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many credential checks from this address (rate_limit), or, on a password change, the account is locked (Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The password hasher or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn token(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let mut request: TokenRequest = oauth_form(&req, payload).await?;
    let credentials =
        ClientCredentials::from_request(authorization(&req), request.client_id.take(), request.client_secret.take())?;
    let response = grants::exchange(&state, credentials, request, clock::now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// The caller of introspection or of the revocation stream, from the `Authorization` header or the body's
/// client credentials.
fn introspection_caller(
    req: &HttpRequest,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<Caller, Error> {
    Ok(match authorization(req) {
        Some(Authorization::Bearer(token)) => Caller::Bearer(token.to_owned()),
        Some(Authorization::MalformedBearer) => return Err(Error::InvalidToken { token_sent: true }),
        basic @ Some(Authorization::Basic(_)) => {
            Caller::Client(ClientCredentials::from_request(basic, client_id, client_secret)?)
        }
        _ if client_id.is_some() => Caller::Client(ClientCredentials::from_request(None, client_id, client_secret)?),
        _ => return Err(Error::InvalidClient),
    })
}

/// `GET /o/revocations/`: revocation events as Server-Sent Events, for resource servers. The same callers as
/// introspection; `Last-Event-ID` resumes after the event with that id.
#[utoipa::path(get, path = "/o/revocations/", tag = "oauth",
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event (the id of the last one received)")),
    security(("client_basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "text/event-stream: `event: reset` when the reader's place is no longer in the log (drop everything), the events after `Last-Event-ID` (`event: revocation`, `id`, `data` a JSON RevocationEvent), `event: ready`, then each new event as it happens, with a `: keep-alive` comment every revocation.heartbeat_secs", content_type = "text/event-stream"),
        (status = 400, description = "invalid_request: a Last-Event-ID that is not a number", body = shared_core::oauth::ErrorBody),
        (status = 401, description = "No or wrong credentials", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "The caller may not introspect", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many credential checks from this address (rate_limit), or, on a password change, the account is locked (Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The password hasher or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn revocations(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let last_event_id = match req.headers().get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| Error::invalid_request("Last-Event-ID must be the id of an event"))?,
        ),
    };
    let caller = introspection_caller(&req, None, None)?;
    introspection::authorize_caller(&state, caller, clock::now()).await?;
    let start = revocation_events::start(&state.pool, last_event_id).await?;
    let events = revocation_events::stream(state.pool.clone(), state.revocations.clone(), start);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Reverse proxies (nginx) must pass each event on at once rather than buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events))
}

/// `POST /o/introspect/`: RFC 7662 §2. The caller is a client allowed to introspect (Basic or body
/// credentials) or the bearer of a token holding the `introspection` scope.
#[utoipa::path(post, path = "/o/introspect/", tag = "oauth",
    request_body(content = shared_core::oauth::TokenParameters, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ("bearer" = []), ()),
    responses(
        (status = 200, description = "RFC 7662 answer; exactly {\"active\": false} for unknown, expired, revoked or refresh tokens", body = shared_core::oauth::IntrospectionResponse),
        (status = 400, description = "invalid_request: no token, a repeated parameter, a control character, a body that is not form-encoded", body = shared_core::oauth::ErrorBody),
        (status = 401, description = "No or wrong credentials", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "The caller may not introspect", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many credential checks from this address (rate_limit), or, on a password change, the account is locked (Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The password hasher or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    state.metrics.introspections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let answer = async {
        let mut parameters: TokenParameters = oauth_form(&req, payload).await?;
        let caller = introspection_caller(&req, parameters.client_id.take(), parameters.client_secret.take())?;
        let token = parameters.token.ok_or_else(|| Error::invalid_request("the \"token\" parameter is required"))?;
        introspection::introspect(&state, caller, token, clock::now()).await
    }
    .await;
    crate::metrics::introspected(answer.as_ref().map(|answer| answer.active));
    let answer = answer?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer))
}

/// `POST /o/revoke_token/`: RFC 7009 §2.1. Unknown tokens, and tokens of other clients, answer 200.
#[utoipa::path(post, path = "/o/revoke_token/", tag = "oauth",
    request_body(content = shared_core::oauth::TokenParameters, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "Revoked, or unknown, or not this client's token (indistinguishable)"),
        (status = 400, description = "invalid_request: no token, a repeated parameter, a control character, a body that is not form-encoded", body = shared_core::oauth::ErrorBody),
        (status = 401, description = "invalid_client", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many credential checks from this address (rate_limit), or, on a password change, the account is locked (Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The password hasher or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let parameters: TokenParameters = oauth_form(&req, payload).await?;
    let credentials =
        ClientCredentials::from_request(authorization(&req), parameters.client_id, parameters.client_secret)?;
    let token = parameters.token.ok_or_else(|| Error::invalid_request("the \"token\" parameter is required"))?;
    revocation::revoke(&state, credentials, token, parameters.token_type_hint, clock::now()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).finish())
}
