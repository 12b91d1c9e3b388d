//! The tutorial's account endpoints.

use actix_web::{web, HttpRequest, HttpResponse};
use shared_core::account::{PasswordChangeRequest, SignupRequest};
use shared_core::body::json_or_form;
use shared_core::clock;
use shared_core::oauth::Authorization;
use shared_core::request::authorization;

use crate::error::Error;
use crate::service::accounts;
use crate::state::AppState;

/// `POST /users/signup/` (JSON or form): 201 `{"email": ...}`, or 400 with DRF field errors.
#[utoipa::path(post, path = "/users/signup/", tag = "accounts",
    request_body(description = "JSON or form-encoded", content(
        (shared_core::account::SignupRequest = "application/json"),
        (shared_core::account::SignupRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "Created", body = shared_core::account::SignupResponse),
        (status = 400, description = "Field errors (DRF shape), or invalid_request for a body that is not an object of strings", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many credential checks from this address (rate_limit), or, on a password change, the account is locked (Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The password hasher or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn signup(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let request: SignupRequest = json_or_form(&req, payload).await?;
    let created = accounts::signup(&state, request, clock::now()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// `PUT /users/password/` with `Authorization: Bearer <user token>`: 200 `{}`.
#[utoipa::path(put, path = "/users/password/", tag = "accounts",
    request_body(description = "JSON or form-encoded", content(
        (shared_core::account::PasswordChangeRequest = "application/json"),
        (shared_core::account::PasswordChangeRequest = "application/x-www-form-urlencoded"))),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; every other session of the user is revoked", body = shared_core::field_errors::Empty),
        (status = 400, description = "Field errors (DRF shape), e.g. {\"old_password\": [\"Wrong password.\"]}, or invalid_request for a body that is not an object of strings", body = shared_core::field_errors::FieldErrorsOrError),
        (status = 401, description = "No or invalid bearer token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "The token carries no user", body = shared_core::oauth::ErrorBody),
        (status = 408, description = "The body did not arrive within http.body_timeout_ms; the connection is closed", body = shared_core::oauth::ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = shared_core::oauth::ErrorBody),
        (status = 415, description = "Neither JSON nor form", body = shared_core::oauth::ErrorBody),
        (status = 429, description = "slow_down: too many credential checks from this address (rate_limit), or, on a password change, the account is locked (Retry-After)", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The password hasher or the database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn change_password(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let bearer = match authorization(&req) {
        Some(Authorization::Bearer(token)) => token.to_owned(),
        Some(Authorization::MalformedBearer) => return Err(Error::InvalidToken { token_sent: true }),
        _ => return Err(Error::InvalidToken { token_sent: false }),
    };
    let request: PasswordChangeRequest = json_or_form(&req, payload).await?;
    accounts::change_password(&state, &bearer, request, clock::now()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
