//! Discovery and health.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{
    AUTHORIZE_PATH, INTROSPECT_PATH, JWKS_PATH, LOGOUT_PATH, REVOCATIONS_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
};
use crate::db;
use crate::error::Error;
use crate::service::grants::SUPPORTED_GRANTS;
use crate::state::AppState;

const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §2) and `GET /.well-known/openid-configuration`
/// (OpenID Connect Discovery 1.0 §3): one document, which both specifications read.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "meta",
    responses((status = 200, description = "RFC 8414 authorization server metadata (the OpenID Connect discovery document)")))]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(document(&state))
}

/// `GET /.well-known/openid-configuration`: OpenID Connect Discovery 1.0 §4.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "meta",
    responses((status = 200, description = "OpenID Connect provider metadata (the same document as RFC 8414's)")))]
pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    metadata(state).await
}

fn document(state: &AppState) -> serde_json::Value {
    let issuer = &state.issuer;
    let scopes: Vec<&str> = state.available_scopes.iter().collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "end_session_endpoint": format!("{issuer}{LOGOUT_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        // Not registered metadata: where this server's resource servers read revocation events.
        "revocation_events_endpoint": format!("{issuer}{REVOCATIONS_PATH}"),
        "grant_types_supported": SUPPORTED_GRANTS,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [crate::service::keys::ALGORITHM],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "bearer"],
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
    })
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
