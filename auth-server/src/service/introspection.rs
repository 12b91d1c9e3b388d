//! RFC 7662 token introspection. Callers are clients allowed the `introspection` scope (HTTP Basic or body
//! credentials), or bearers of a token holding it (Django OAuth Toolkit's `RESOURCE_SERVER_AUTH_TOKEN`).
//! Only access tokens are ever active; a refresh token answers `{"active": false}`.

use shared_core::oauth::{scope_string_contains, Audience, IntrospectionResponse};
use shared_core::token_digest;

use super::client_auth::ClientCredentials;
use super::scopes::INTROSPECTION;
use crate::db::tokens::AccessTokenView;
use crate::db::{self, clients, tokens};
use crate::error::Error;
use crate::state::AppState;

/// Who is asking.
pub enum Caller {
    Client(ClientCredentials),
    Bearer(String),
}

/// Answers whether `token` is active at time `now`, for a caller allowed to ask.
pub async fn introspect(
    state: &AppState,
    caller: Caller,
    token: String,
    now: i64,
) -> Result<IntrospectionResponse, Error> {
    let target_hash = token_digest(&token);
    let default_audience = &state.policy.jwt.audience;
    // The audiences the caller acts for, when introspection is restricted to them.
    let restricted = state.policy.introspection_restricted_to_audience;
    let (view, caller_audiences) = match caller {
        Caller::Client(credentials) => {
            // One statement for the caller's row and the token.
            let client_id = credentials.client_id.clone();
            let (row, view) =
                db::read(&state.pool, move |c| Ok(tokens::find_caller_and_access(c, &client_id, &target_hash)?))
                    .await?;
            let client = state.clients.authenticate(&state.hasher, &credentials, row).await?;
            if !client.scopes.contains(INTROSPECTION) {
                return Err(Error::ClientForbidden("this client is not allowed to introspect tokens".into()));
            }
            (view, client.audiences)
        }
        Caller::Bearer(bearer) => {
            let caller_hash = token_digest(&bearer);
            let (caller, view) = db::read(&state.pool, move |c| {
                Ok((tokens::find_access(c, &caller_hash)?, tokens::find_access(c, &target_hash)?))
            })
            .await?;
            match caller {
                Some(caller) if caller.is_active(now) => {
                    if !scope_string_contains(&caller.scope, INTROSPECTION) {
                        return Err(Error::InsufficientScope(INTROSPECTION));
                    }
                    // A bearer acts for the audience of its own token.
                    (view, vec![caller.audience.unwrap_or_else(|| default_audience.clone())])
                }
                _ => return Err(Error::InvalidToken { token_sent: true }),
            }
        }
    };
    let view = view.filter(|token| {
        let aud = token.audience.as_deref().unwrap_or(default_audience);
        !restricted || caller_audiences.iter().any(|a| a == aud)
    });
    Ok(describe(view, now, &state.issuer, default_audience))
}

/// Checks that `caller` may introspect, without a token to introspect: the revocation event stream is open to
/// exactly the callers introspection is.
pub async fn authorize_caller(state: &AppState, caller: Caller, now: i64) -> Result<(), Error> {
    match caller {
        Caller::Client(credentials) => {
            let client_id = credentials.client_id.clone();
            let row = db::read(&state.pool, move |c| Ok(clients::find_by_client_id(c, &client_id)?)).await?;
            let client = state.clients.authenticate(&state.hasher, &credentials, row).await?;
            if !client.scopes.contains(INTROSPECTION) {
                return Err(Error::ClientForbidden("this client is not allowed to introspect tokens".into()));
            }
        }
        Caller::Bearer(bearer) => {
            let hash = token_digest(&bearer);
            match db::read(&state.pool, move |c| Ok(tokens::find_access(c, &hash)?)).await? {
                Some(token) if token.is_active(now) => {
                    if !scope_string_contains(&token.scope, INTROSPECTION) {
                        return Err(Error::InsufficientScope(INTROSPECTION));
                    }
                }
                _ => return Err(Error::InvalidToken { token_sent: true }),
            }
        }
    }
    Ok(())
}

/// The RFC 7662 §2.2 answer for a token row (or its absence). `aud` is the resource the token was issued
/// for, else `audience`, the default (a JWT access token carries the same).
pub fn describe(view: Option<AccessTokenView>, now: i64, issuer: &str, audience: &str) -> IntrospectionResponse {
    match view {
        Some(token) if token.is_active(now) => IntrospectionResponse {
            active: true,
            scope: Some(token.scope),
            client_id: Some(token.client_id),
            username: token.username,
            sub: token.subject,
            exp: Some(token.expires_at),
            iat: Some(token.issued_at),
            token_type: Some("Bearer".to_owned()),
            iss: Some(issuer.to_owned()),
            aud: Some(Audience::One(token.audience.unwrap_or_else(|| audience.to_owned()))),
        },
        _ => IntrospectionResponse::inactive(),
    }
}
