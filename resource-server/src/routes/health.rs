//! Health probes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::db;
use crate::introspection::StreamState;
use crate::state::AppState;

/// `GET /health/live`: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "meta", responses((status = 200, description = "The process answers")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /health/ready`: the database and the auth server answer too.
#[utoipa::path(get, path = "/health/ready", tag = "meta",
    responses((status = 200, description = "Database and auth server answer; the introspection circuit's state and the revocation stream's (live, connecting, off)"), (status = 503, description = "One of them does not (Retry-After)")))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = db::read(&state.pool, |c| Ok(shared_core::db::ping(c)?)).await.is_ok();
    let auth_server = state.auth.is_live().await;
    let stream = state.tokens.stream_state();
    // A lost revocation stream is degraded, not down: tokens are still checked, only asked about more often.
    let status = match (database && auth_server, stream) {
        (false, _) => "unavailable",
        (true, StreamState::Connecting) => "degraded",
        (true, _) => "ok",
    };
    let body = json!({
        "status": status,
        "database": if database { "ok" } else { "unreachable" },
        "auth_server": if auth_server { "ok" } else { "unreachable" },
        // closed: introspection works; open: the auth server has been failing and is not asked for now.
        "introspection_circuit": state.tokens.breaker_state().as_str(),
        // live: revocations arrive as they happen; connecting: lost or not yet caught up (cached tokens are
        // asked about again: degraded, not down); off: none used.
        "revocation_stream": stream.as_str(),
    });
    if database && auth_server {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "5")).json(body)
    }
}
