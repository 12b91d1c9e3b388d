//! Discovery and health.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH};
use crate::db;
use crate::error::Error;
use crate::service::grants::SUPPORTED_GRANTS;
use crate::state::AppState;

const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// `GET /.well-known/oauth-authorization-server`: RFC 8414 §2. There is no authorization endpoint (no
/// browser flows), so `response_types_supported` is empty.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "meta",
    responses((status = 200, description = "RFC 8414 authorization server metadata")))]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = &state.issuer;
    let scopes: Vec<&str> = state.available_scopes.iter().collect();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        "grant_types_supported": SUPPORTED_GRANTS,
        "response_types_supported": [],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "bearer"],
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
    }))
}

/// `GET /health/live`: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "meta", responses((status = 200, description = "The process answers")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /health/ready`: the database answers too.
#[utoipa::path(get, path = "/health/ready", tag = "meta",
    responses((status = 200, description = "The database answers"), (status = 503, description = "The database does not answer (Retry-After)")))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    match db::read(&state.pool, |c| Ok(shared_core::db::ping(c)?)).await {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"}))),
        Err(e) => {
            log::warn!("readiness check failed: {e}");
            Ok(HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .json(json!({"status": "unavailable", "database": "unreachable"})))
        }
    }
}
