//! The account proxies: the tutorial's `/users/...` views, forwarded to the auth server so that the client
//! secret stays on this side. The auth server's status and JSON body are passed through unchanged.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use shared_core::account::{LoginRequest, PasswordChangeRequest, RefreshRequest, SignupRequest};
use shared_core::body;
use shared_core::field_errors::messages;
use shared_core::FieldErrors;

use crate::auth_client::Upstream;
use crate::error::Error;
use crate::state::AppState;

fn pass_through(upstream: Upstream) -> HttpResponse {
    let mut response = HttpResponse::build(upstream.status);
    if let Some(content_type) = upstream.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    // Token answers must not be cached anywhere on the way (RFC 6749 §5.1).
    response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    response.body(upstream.body)
}

/// Each named field must be present and non-blank, reported DRF-style otherwise.
fn require<'a>(fields: &[(&str, &'a Option<String>)]) -> Result<Vec<&'a str>, Error> {
    let mut errors = FieldErrors::new();
    let mut values = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        match value.as_deref() {
            None => errors.add(name, messages::REQUIRED),
            Some("") => errors.add(name, messages::BLANK),
            Some(v) => values.push(v),
        }
    }
    errors.into_result()?;
    Ok(values)
}

/// `POST /users/signup/` → auth `POST /users/signup/`.
#[utoipa::path(post, path = "/users/signup/", tag = "accounts",
    request_body(content = shared_core::account::SignupRequest, content_type = "application/json", description = "JSON or form-encoded"),
    responses((status = 201, description = "The auth server's answer, passed through", body = shared_core::account::SignupResponse), (status = 400, description = "Field errors (DRF shape)", body = shared_core::FieldErrors), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody), (status = 503, description = "The auth server is unreachable (Retry-After)", body = shared_core::oauth::ErrorBody)))]
pub async fn signup(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let request: SignupRequest = body::json_or_form(&req, payload).await?;
    let upstream = state.auth.account(reqwest::Method::POST, "/users/signup/", None, &json!(request)).await?;
    Ok(pass_through(upstream))
}

/// `POST /users/token/` `{email, password}` → the password grant with this server's client credentials.
#[utoipa::path(post, path = "/users/token/", tag = "accounts",
    request_body(content = shared_core::account::LoginRequest, content_type = "application/json", description = "JSON or form-encoded"),
    responses((status = 200, description = "The password grant's answer", body = shared_core::oauth::TokenResponse), (status = 400, description = "Missing fields (DRF shape) or the auth server's invalid_grant", body = shared_core::oauth::ErrorBody), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody), (status = 503, description = "The auth server is unreachable (Retry-After)", body = shared_core::oauth::ErrorBody)))]
pub async fn token(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let request: LoginRequest = body::json_or_form(&req, payload).await?;
    let values = require(&[("email", &request.email), ("password", &request.password)])?;
    let form = [("grant_type", "password"), ("username", values[0]), ("password", values[1])];
    Ok(pass_through(state.auth.token(&form).await?))
}

/// `POST /users/token/refresh/` `{refresh}` → the refresh_token grant.
#[utoipa::path(post, path = "/users/token/refresh/", tag = "accounts",
    request_body(content = shared_core::account::RefreshRequest, content_type = "application/json", description = "JSON or form-encoded"),
    responses((status = 200, description = "The refresh_token grant's answer (a new refresh token)", body = shared_core::oauth::TokenResponse), (status = 400, description = "Missing field or invalid_grant", body = shared_core::oauth::ErrorBody), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody), (status = 503, description = "The auth server is unreachable (Retry-After)", body = shared_core::oauth::ErrorBody)))]
pub async fn refresh(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let request: RefreshRequest = body::json_or_form(&req, payload).await?;
    let values = require(&[("refresh", &request.refresh)])?;
    let form = [("grant_type", "refresh_token"), ("refresh_token", values[0])];
    Ok(pass_through(state.auth.token(&form).await?))
}

/// `PUT /users/password/` → auth `PUT /users/password/` with the caller's `Authorization` header.
#[utoipa::path(put, path = "/users/password/", tag = "accounts", security(("bearer" = [])),
    request_body(content = shared_core::account::PasswordChangeRequest, content_type = "application/json", description = "JSON or form-encoded"),
    responses((status = 200, description = "Changed (body: {})"), (status = 400, description = "Field errors (DRF shape)", body = shared_core::FieldErrors), (status = 401, description = "No or invalid bearer token", body = shared_core::oauth::ErrorBody), (status = 403, description = "The token carries no user", body = shared_core::oauth::ErrorBody), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody), (status = 503, description = "The auth server is unreachable (Retry-After)", body = shared_core::oauth::ErrorBody)))]
pub async fn change_password(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if crate::auth::bearer_token(&req)?.is_none() {
        return Err(Error::InvalidToken { token_sent: false });
    }
    let request: PasswordChangeRequest = body::json_or_form(&req, payload).await?;
    let upstream = state
        .auth
        .account(reqwest::Method::PUT, "/users/password/", authorization.as_deref(), &json!(request))
        .await?;
    Ok(pass_through(upstream))
}
