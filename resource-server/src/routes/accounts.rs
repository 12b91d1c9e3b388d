//! The account proxies: the tutorial's `/users/...` views, forwarded to the auth server so that the client
//! secret stays on this side. The auth server's status and JSON body are passed through unchanged.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use shared_core::account::{LoginRequest, PasswordChangeRequest, RefreshRequest, SignupRequest};
use shared_core::body;
use shared_core::field_errors::required_text;
use shared_core::oauth::TokenRequest;
use shared_core::report::Throttle;
use shared_core::request_context;
use shared_core::FieldErrors;

use crate::auth_client::Upstream;
use crate::error::Error;
use crate::state::AppState;

fn pass_through(upstream: Upstream) -> HttpResponse {
    let mut response = HttpResponse::build(upstream.status);
    if let Some(content_type) = upstream.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    if let Some(retry_after) = upstream.retry_after {
        response.insert_header((header::RETRY_AFTER, retry_after));
    }
    // Token answers must not be cached anywhere on the way (RFC 6749 §5.1).
    response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    response.body(upstream.body)
}

/// An account endpoint's answer: 404 or 405 means the auth server has no such endpoint (another server
/// than this project's), which the caller hears as 501 rather than as a missing page of this server.
fn account_answer(upstream: Upstream, endpoint: &'static str) -> Result<HttpResponse, Error> {
    match upstream.status.as_u16() {
        404 | 405 => Err(Error::NotImplemented(endpoint)),
        _ => Ok(pass_through(upstream)),
    }
}

/// A call that will check a password or create an account is counted against the client's address
/// (through `http.trusted_proxies` only) first: over the limit, 429 before anything is forwarded. The
/// address and the request id go along to the auth server (`AuthClient` reads them from the request's
/// context).
fn admit_account_call(state: &AppState) -> Result<(), Error> {
    let context = request_context::current();
    state.account_calls.check(context.client_ip).map_err(|wait| {
        if let Some(held_back) = RATE_LIMITED_AUDIT.admit() {
            let event = json!({"event": "rate_limited", "limit": "account_calls", "held_back": held_back});
            shared_core::audit::emit_for(&context, &event);
        }
        Error::TooManyAttempts { retry_after: wait.secs() }
    })
}

/// Rate-limit refusals come in floods: one audit line a second, with the count of the others.
static RATE_LIMITED_AUDIT: Throttle = Throttle::new(std::time::Duration::from_secs(1));

/// Each named field must be present, non-blank and free of control characters, reported DRF-style
/// otherwise (rather than as the auth server's complaint about a form the client never sent).
fn require<const N: usize>(fields: [(&str, Option<String>); N]) -> Result<[String; N], Error> {
    let mut errors = FieldErrors::new();
    let values = fields.map(|(name, value)| match required_text(value.as_deref(), name, &mut errors) {
        Some(_) => value.unwrap_or_default(),
        None => String::new(),
    });
    errors.into_result()?;
    Ok(values)
}

/// `POST /users/signup/` → auth `POST /users/signup/`.
#[utoipa::path(post, path = "/users/signup/", tag = "accounts",
    request_body(description = "JSON or form-encoded", content(
        (shared_core::account::SignupRequest = "application/json"),
        (shared_core::account::SignupRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "The auth server's answer, passed through", body = shared_core::account::SignupResponse),
        (status = 400, description = "Field errors (DRF shape), or invalid_request for a body that is not an object of strings", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 501, description = "The auth server in use has no signup endpoint (not this project's)", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many attempts from this address, here (rate_limit) or at the auth server (passed through, with its Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn signup(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let request: SignupRequest = body::json_or_form(&req, payload).await?;
    admit_account_call(&state)?;
    let body = json!(request);
    let upstream = state.auth.account(reqwest::Method::POST, "/users/signup/", None, &body).await?;
    account_answer(upstream, "signup")
}

/// `POST /users/token/` `{email, password}` → the password grant with this server's client credentials.
#[utoipa::path(post, path = "/users/token/", tag = "accounts",
    request_body(description = "JSON or form-encoded", content(
        (shared_core::account::LoginRequest = "application/json"),
        (shared_core::account::LoginRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The password grant's answer", body = shared_core::oauth::TokenResponse),
        (status = 400, description = "Missing or bad fields (DRF shape), or the auth server's invalid_grant", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many attempts from this address, here (rate_limit) or at the auth server (passed through, with its Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn token(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let request: LoginRequest = body::json_or_form(&req, payload).await?;
    let [username, password] = require([("email", request.email), ("password", request.password)])?;
    let grant = TokenRequest {
        grant_type: Some("password".into()),
        username: Some(username),
        password: Some(password),
        ..TokenRequest::default()
    };
    admit_account_call(&state)?;
    Ok(pass_through(state.auth.token(grant).await?))
}

/// `POST /users/token/refresh/` `{refresh}` → the refresh_token grant.
#[utoipa::path(post, path = "/users/token/refresh/", tag = "accounts",
    request_body(description = "JSON or form-encoded", content(
        (shared_core::account::RefreshRequest = "application/json"),
        (shared_core::account::RefreshRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The refresh_token grant's answer (a new refresh token)", body = shared_core::oauth::TokenResponse),
        (status = 400, description = "A missing or bad field (DRF shape), or the auth server's invalid_grant", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many attempts from this address, here (rate_limit) or at the auth server (passed through, with its Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let request: RefreshRequest = body::json_or_form(&req, payload).await?;
    let [refresh_token] = require([("refresh", request.refresh)])?;
    let grant = TokenRequest {
        grant_type: Some("refresh_token".into()),
        refresh_token: Some(refresh_token),
        ..TokenRequest::default()
    };
    Ok(pass_through(state.auth.token(grant).await?))
}

/// `PUT /users/password/` → auth `PUT /users/password/` with the caller's `Authorization` header.
#[utoipa::path(put, path = "/users/password/", tag = "accounts", security(("bearer" = [])),
    request_body(description = "JSON or form-encoded", content(
        (shared_core::account::PasswordChangeRequest = "application/json"),
        (shared_core::account::PasswordChangeRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Changed; every other session of the user is revoked", body = shared_core::field_errors::Empty),
        (status = 400, description = "Field errors (DRF shape), or invalid_request for a body that is not an object of strings", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 401, description = "No or invalid bearer token", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "The token carries no user", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 501, description = "The auth server in use has no password-change endpoint (not this project's)", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many attempts from this address, here (rate_limit) or at the auth server (passed through, with its Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The auth server cannot be reached, or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn change_password(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if crate::auth::bearer_token(&req)?.is_none() {
        return Err(Error::InvalidToken { token_sent: false });
    }
    let request: PasswordChangeRequest = body::json_or_form(&req, payload).await?;
    admit_account_call(&state)?;
    let body = json!(request);
    let call = state.auth.account(reqwest::Method::PUT, "/users/password/", authorization.as_deref(), &body);
    let upstream = call.await?;
    account_answer(upstream, "password change")
}
