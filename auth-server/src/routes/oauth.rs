//! The OAuth endpoints: token, introspection, revocation.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::{bearer_token, client_credentials, has_basic_scheme, has_bearer_scheme, Form};
use crate::error::Error;
use crate::service::grants::{self, TokenRequest};
use crate::service::introspection::{self, Caller};
use crate::service::revocation;
use crate::state::AppState;

/// `POST /o/token/`: RFC 6749 §4.3 (password), §4.4 (client_credentials), §6 (refresh_token).
#[utoipa::path(post, path = "/o/token/", tag = "oauth",
    request_body(content = crate::openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "Tokens issued (Cache-Control: no-store)", body = shared_core::oauth::TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type or invalid_scope", body = shared_core::oauth::ErrorBody), (status = 401, description = "invalid_client (WWW-Authenticate: Basic)", body = shared_core::oauth::ErrorBody), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Not form-encoded", body = shared_core::oauth::ErrorBody), (status = 503, description = "Busy: retry after Retry-After", body = shared_core::oauth::ErrorBody)
    ))]
pub async fn token(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let mut form = Form::read(&req, payload).await?;
    let credentials = client_credentials(&req, &mut form)?;
    let request = TokenRequest {
        grant_type: form.take("grant_type"),
        username: form.take("username"),
        password: form.take("password"),
        refresh_token: form.take("refresh_token"),
        scope: form.take("scope"),
    };
    let response = grants::exchange(&state, credentials, request).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// `POST /o/introspect/`: RFC 7662 §2. The caller is a client allowed to introspect (Basic or body
/// credentials) or the bearer of a token holding the `introspection` scope.
#[utoipa::path(post, path = "/o/introspect/", tag = "oauth",
    request_body(content = crate::openapi::TokenParameterForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "RFC 7662 answer; exactly {\"active\": false} for unknown, expired, revoked or refresh tokens", body = shared_core::oauth::IntrospectionResponse),
        (status = 400, description = "invalid_request: no token", body = shared_core::oauth::ErrorBody), (status = 401, description = "No or wrong credentials", body = shared_core::oauth::ErrorBody), (status = 403, description = "The caller may not introspect", body = shared_core::oauth::ErrorBody), (status = 405, description = "Only POST", body = shared_core::oauth::ErrorBody), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Not form-encoded", body = shared_core::oauth::ErrorBody), (status = 503, description = "Busy: retry after Retry-After", body = shared_core::oauth::ErrorBody)
    ))]
pub async fn introspect(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    state.metrics.introspections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut form = Form::read(&req, payload).await?;
    let caller = if has_bearer_scheme(&req) {
        Caller::Bearer(bearer_token(&req).ok_or(Error::InvalidToken { token_sent: true })?)
    } else if has_basic_scheme(&req) || form.contains("client_id") {
        Caller::Client(client_credentials(&req, &mut form)?)
    } else {
        return Err(Error::InvalidClient);
    };
    let token = form.take("token").ok_or_else(|| Error::invalid_request("the \"token\" parameter is required"))?;
    let answer = introspection::introspect(&state, caller, token).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer))
}

/// `POST /o/revoke_token/`: RFC 7009 §2.1. Unknown tokens, and tokens of other clients, answer 200.
#[utoipa::path(post, path = "/o/revoke_token/", tag = "oauth",
    request_body(content = crate::openapi::TokenParameterForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "Revoked, or unknown, or not this client's token (indistinguishable)"),
        (status = 400, description = "invalid_request: no token", body = shared_core::oauth::ErrorBody), (status = 401, description = "invalid_client", body = shared_core::oauth::ErrorBody), (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody), (status = 415, description = "Not form-encoded", body = shared_core::oauth::ErrorBody), (status = 503, description = "Busy: retry after Retry-After", body = shared_core::oauth::ErrorBody)
    ))]
pub async fn revoke(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let mut form = Form::read(&req, payload).await?;
    let credentials = client_credentials(&req, &mut form)?;
    let token = form.take("token").ok_or_else(|| Error::invalid_request("the \"token\" parameter is required"))?;
    revocation::revoke(&state, credentials, token, form.take("token_type_hint")).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).finish())
}
