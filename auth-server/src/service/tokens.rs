//! Token minting: 256-bit values from the OS CSPRNG, stored only as SHA-256 digests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use shared_core::db::DbConn;
use shared_core::oauth::TokenResponse;
use shared_core::token_digest;

use super::access_jwt::Subject;
use super::registration::AccessTokenFormat;
use crate::db::tokens::{self, NewAccessToken, NewRefreshToken};
use crate::error::Error;
use crate::state::TokenPolicy;

/// 32 random bytes from the operating system, base64url without padding (43 characters).
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the access token will be.
pub enum AccessToken<'a> {
    /// 256 random bits.
    Opaque,
    /// A JWT, signed in [`issue`]: some of its claims (the user of a refresh token, the narrowed scope) are
    /// known only inside the transaction.
    Jwt(Subject<'a>),
    /// A JWT signed before the transaction ([`sign_ahead`]), so that no lock waits on RSA.
    Signed(String),
}

impl<'a> AccessToken<'a> {
    /// The access token of a client of `format`, for `subject`.
    pub fn of(format: AccessTokenFormat, subject: Subject<'a>) -> Self {
        match format {
            AccessTokenFormat::Opaque => Self::Opaque,
            AccessTokenFormat::Jwt => Self::Jwt(subject),
        }
    }
}

/// What a grant decided; turned into rows and a response by [`issue`].
pub struct Grant<'a> {
    pub client_pk: i64,
    pub access: AccessToken<'a>,
    pub user_id: Option<i64>,
    /// The resource the tokens are for (RFC 8707); `None`: the default audience.
    pub audience: Option<&'a str>,
    pub scope: &'a str,
    /// `Some(family)` to issue a refresh token in that rotation family.
    pub refresh_family: Option<&'a str>,
    /// The authorization code the tokens are issued for.
    pub authorization_code_id: Option<i64>,
}

/// For a grant whose token's claims are all known before the transaction (client_credentials, password):
/// a JWT is signed here, on a blocking thread, so that SQLite's one writer never waits on an RSA signature.
pub async fn sign_ahead(
    policy: &TokenPolicy,
    access: AccessToken<'_>,
    now: i64,
) -> Result<AccessToken<'static>, Error> {
    let Subject { client_id, user, scope, auth_time, audience } = match access {
        AccessToken::Opaque => return Ok(AccessToken::Opaque),
        AccessToken::Signed(signed) => return Ok(AccessToken::Signed(signed)),
        AccessToken::Jwt(subject) => subject,
    };
    let signer = policy.jwt.clone();
    let (client_id, user, scope, audience) =
        (client_id.to_owned(), user.map(str::to_owned), scope.to_owned(), audience.map(str::to_owned));
    let signed = tokio::task::spawn_blocking(move || {
        let subject = Subject {
            client_id: &client_id,
            user: user.as_deref(),
            scope: &scope,
            auth_time,
            audience: audience.as_deref(),
        };
        signer.mint(&subject, now)
    })
    .await
    .map_err(|_| Error::Signing(super::keys::KeyError::Task))??;
    Ok(AccessToken::Signed(signed))
}

/// Inserts an access token (and a refresh token when asked) and returns the RFC 6749 §5.1 response.
/// Call inside a write transaction when a refresh token is involved.
pub fn issue(conn: &mut DbConn, policy: &TokenPolicy, grant: &Grant<'_>, now: i64) -> Result<TokenResponse, Error> {
    let mut refresh = None;
    let mut refresh_token_id = None;
    if let (Some(family), Some(user_id)) = (grant.refresh_family, grant.user_id) {
        let token = random_token()?;
        let id = tokens::insert_refresh(
            conn,
            &NewRefreshToken {
                token_hash: &token_digest(&token),
                client_id: grant.client_pk,
                user_id,
                family_id: family,
                scope: grant.scope,
                issued_at: now,
                expires_at: now + policy.refresh_token_lifetime,
                audience: grant.audience,
            },
        )?;
        refresh = Some(token);
        refresh_token_id = Some(id);
    }
    // A JWT's digest is stored like an opaque token's.
    let (access, lifetime) = match &grant.access {
        AccessToken::Opaque => (random_token()?, policy.access_token_lifetime),
        AccessToken::Jwt(subject) => (policy.jwt.mint(subject, now)?, policy.jwt.lifetime),
        AccessToken::Signed(signed) => (signed.clone(), policy.jwt.lifetime),
    };
    tokens::insert_access(
        conn,
        &NewAccessToken {
            token_hash: &token_digest(&access),
            client_id: grant.client_pk,
            user_id: grant.user_id,
            refresh_token_id,
            scope: grant.scope,
            issued_at: now,
            expires_at: now + lifetime,
            authorization_code_id: grant.authorization_code_id,
            audience: grant.audience,
        },
    )?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer".to_owned(),
        expires_in: lifetime,
        scope: grant.scope.to_owned(),
        refresh_token: refresh,
        id_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url() {
        let token = random_token().unwrap();
        assert_eq!(token.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn tokens_do_not_repeat() {
        let tokens: std::collections::HashSet<String> = (0..1000).map(|_| random_token().unwrap()).collect();
        assert_eq!(tokens.len(), 1000);
    }
}
