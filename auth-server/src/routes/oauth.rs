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
pub async fn revoke(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let mut form = Form::read(&req, payload).await?;
    let credentials = client_credentials(&req, &mut form)?;
    let token = form.take("token").ok_or_else(|| Error::invalid_request("the \"token\" parameter is required"))?;
    revocation::revoke(&state, credentials, token, form.take("token_type_hint")).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).finish())
}
