//! OpenID Connect's endpoints beside the authorization flow: userinfo and the signing keys.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared_core::clock;
use shared_core::oauth::Authorization;
use shared_core::request::authorization;

use crate::error::Error;
use crate::service::oidc;
use crate::state::AppState;

/// `GET|POST /o/userinfo/` with `Authorization: Bearer`: OpenID Connect Core §5.3. The token must hold
/// `openid`; `email` adds the address.
#[utoipa::path(get, path = "/o/userinfo/", tag = "oidc", operation_id = "userinfo_get", security(("bearer" = [])),
    responses(
        (status = 200, description = "sub, and email and email_verified with the email scope", body = oidc::UserInfo),
        (status = 401, description = "No, or an invalid, bearer token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "The token lacks openid, or carries no user", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn userinfo(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let bearer = match authorization(&req) {
        Some(Authorization::Bearer(token)) => token.to_owned(),
        Some(Authorization::MalformedBearer) => return Err(Error::InvalidToken { token_sent: true }),
        _ => return Err(Error::InvalidToken { token_sent: false }),
    };
    let claims = oidc::userinfo(&state, &bearer, clock::now()).await?;
    Ok(HttpResponse::Ok().json(claims))
}

/// `POST /o/userinfo/`: the same answer (Core §5.3.1 allows both methods); documented apart because an
/// OpenAPI operation has one method.
#[utoipa::path(post, path = "/o/userinfo/", tag = "oidc", operation_id = "userinfo_post", security(("bearer" = [])),
    responses(
        (status = 200, description = "sub, and email and email_verified with the email scope", body = oidc::UserInfo),
        (status = 401, description = "No, or an invalid, bearer token (WWW-Authenticate: Bearer)", body = shared_core::oauth::ErrorBody),
        (status = 403, description = "The token lacks openid, or carries no user", body = shared_core::oauth::ErrorBody),
        (status = 503, description = "The database is busy (Retry-After)", body = shared_core::oauth::ErrorBody),
    ))]
pub async fn userinfo_post(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    userinfo(req, state).await
}

/// The JWKS (RFC 7517 §5), for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(as = Jwks)]
#[allow(dead_code)]
pub struct JwksDoc {
    keys: Vec<JwkDoc>,
}

/// One RSA public key (RFC 7517 §4, RFC 7518 §6.3.1).
#[derive(utoipa::ToSchema)]
#[schema(as = Jwk)]
#[allow(dead_code)]
pub struct JwkDoc {
    /// `RSA`
    kty: String,
    /// `sig`
    #[schema(rename = "use")]
    r#use: String,
    /// `RS256`
    alg: String,
    kid: String,
    /// Modulus, base64url.
    n: String,
    /// Exponent, base64url.
    e: String,
}

/// `GET /o/jwks/`: the public keys id_tokens are signed with (RFC 7517 §5), the retiring ones included.
#[utoipa::path(get, path = "/o/jwks/", tag = "oidc",
    responses((status = 200, description = "The published RSA public keys", body = JwksDoc)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        // Short: after a rotation, relying parties see the new key within a minute.
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .body(state.keys.jwks())
}
