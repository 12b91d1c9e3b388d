//! JWT access tokens (RFC 9068): signed with the OpenID Connect keys, so one JWKS verifies id_tokens and
//! access tokens alike. The token's digest is stored like an opaque token's, so introspection and
//! revocation treat both the same; a resource server that verifies the JWT itself learns of a revocation
//! only when the token expires, hence their short default lifetime.

use std::sync::Arc;

use serde::Serialize;

use super::keys::{KeyError, SigningKeys};
use super::tokens::random_token;

/// RFC 9068 §2.1: the `typ` header that tells an access token from an id_token.
pub const TYP: &str = "at+jwt";

/// What signs access tokens, and the claims every one of them shares.
pub struct AccessTokenSigner {
    pub issuer: String,
    /// `aud` when the request names no resource (RFC 9068 §3: a default resource indicator).
    pub audience: String,
    pub lifetime: i64,
    pub keys: Arc<SigningKeys>,
}

impl std::fmt::Debug for AccessTokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenSigner")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// Whom and what an access token is for.
pub struct Subject<'a> {
    pub client_id: &'a str,
    /// The user's stable id; `None` for client_credentials, where `sub` is the client (RFC 9068 §2.2).
    pub user: Option<&'a str>,
    pub scope: &'a str,
    /// When the user signed in (authorization code tokens).
    pub auth_time: Option<i64>,
    /// The resource it is for (RFC 8707); `None`: the default audience.
    pub audience: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: &'a str,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("no randomness for the jti")]
    Random(#[from] getrandom::Error),
    #[error(transparent)]
    Sign(#[from] KeyError),
}

impl AccessTokenSigner {
    /// A signed access token for `subject`, issued at `now`.
    pub fn mint(&self, subject: &Subject<'_>, now: i64) -> Result<String, MintError> {
        let claims = Claims {
            iss: &self.issuer,
            sub: subject.user.unwrap_or(subject.client_id),
            aud: subject.audience.unwrap_or(&self.audience),
            exp: now + self.lifetime,
            iat: now,
            jti: random_token()?,
            client_id: subject.client_id,
            scope: subject.scope,
            auth_time: subject.auth_time,
        };
        Ok(self.keys.sign_typed(&claims, Some(TYP))?)
    }
}
