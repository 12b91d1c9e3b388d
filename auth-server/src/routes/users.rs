//! The tutorial's account endpoints.

use actix_web::{web, HttpRequest, HttpResponse};
use shared_core::account::{PasswordChangeRequest, SignupRequest};

use shared_core::body::json_or_form;

use super::extract::{bearer_token, has_bearer_scheme};
use crate::error::Error;
use crate::service::accounts;
use crate::state::AppState;

/// `POST /users/signup/` (JSON or form): 201 `{"email": ...}`, or 400 with DRF field errors.
pub async fn signup(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let request: SignupRequest = json_or_form(&req, payload).await.map_err(Error::from)?;
    let created = accounts::signup(&state, request).await?;
    Ok(HttpResponse::Created().json(created))
}

/// `PUT /users/password/` with `Authorization: Bearer <user token>`: 200 `{}`.
pub async fn change_password(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let bearer = bearer_token(&req);
    if bearer.is_none() {
        return Err(Error::InvalidToken { token_sent: has_bearer_scheme(&req) });
    }
    let request: PasswordChangeRequest = json_or_form(&req, payload).await.map_err(Error::from)?;
    accounts::change_password(&state, bearer, request).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
