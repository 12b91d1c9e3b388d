//! OpenID Connect on top of OAuth: the id_token (Core §2, §3.1.3.6) and the claims userinfo answers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared_core::oauth::Scopes;

use super::keys::{KeyError, SigningKeys};
use crate::db::{self, tokens};
use crate::error::Error;
use crate::state::AppState;

pub const OPENID: &str = "openid";
pub const EMAIL: &str = "email";

/// What an id_token says, for whom and for which authentication.
pub struct Authentication<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
    pub scope: &'a Scopes,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub access_token: &'a str,
}

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    #[serde(flatten)]
    claims: UserClaims<'a>,
}

/// The user claims the granted scopes allow (userinfo and id_token alike).
#[derive(Serialize)]
pub struct UserClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    /// Addresses are not verified by this server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl<'a> UserClaims<'a> {
    pub fn for_scope(scope: &Scopes, email: &'a str) -> Self {
        let with_email = scope.contains(EMAIL);
        Self { email: with_email.then_some(email), email_verified: with_email.then_some(false) }
    }
}

/// The userinfo answer (Core §5.3.2): `sub` and the claims the token's scopes allow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// The user's stable id (a UUID, never the email).
    pub sub: String,
    /// With the `email` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    pub email: Option<String>,
    /// With the `email` scope; false: signup does not verify addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = bool)]
    pub email_verified: Option<bool>,
}

/// Who the bearer token's user is. The token must be live, carry `openid`, and belong to a user.
pub async fn userinfo(state: &AppState, bearer: &str, now: i64) -> Result<UserInfo, Error> {
    let hash = shared_core::token_digest(bearer);
    let token = db::read(&state.pool, move |c| Ok(tokens::find_access(c, &hash)?)).await?;
    let token = token.filter(|t| t.is_active(now)).ok_or(Error::InvalidToken { token_sent: true })?;
    if !shared_core::oauth::scope_string_contains(&token.scope, OPENID) {
        return Err(Error::InsufficientScope(OPENID));
    }
    let (Some(sub), Some(email)) = (token.subject, token.username) else { return Err(Error::UserRequired) };
    let with_email = shared_core::oauth::scope_string_contains(&token.scope, EMAIL);
    Ok(UserInfo { sub, email: with_email.then_some(email), email_verified: with_email.then_some(false) })
}

/// The left half of the access token's SHA-256, base64url (Core §3.1.3.6, for RS256).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// A signed id_token valid `lifetime` seconds from `now`.
pub fn id_token(keys: &SigningKeys, who: &Authentication<'_>, now: i64, lifetime: i64) -> Result<String, KeyError> {
    let claims = IdTokenClaims {
        iss: who.issuer,
        sub: who.subject,
        aud: who.client_id,
        exp: now + lifetime,
        iat: now,
        auth_time: who.auth_time,
        nonce: who.nonce,
        at_hash: at_hash(who.access_token),
        claims: UserClaims::for_scope(who.scope, who.email),
    };
    keys.sign(&claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha_256() {
        // OpenID Connect Core, Appendix A.3's access token and at_hash.
        assert_eq!(at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }
}
