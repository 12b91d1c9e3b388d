//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6), with the
//! OpenID Connect id_token (Core §3.1.3.3). A code is used once; its second use revokes everything it
//! issued (RFC 6749 §4.1.2).

use shared_core::oauth::{ErrorCode, Scopes, TokenRequest, TokenResponse};
use shared_core::revocation::RevocationEvent;
use shared_core::token_digest;

use super::access_jwt::Subject;
use super::audiences::Target;
use super::client_auth::Client;
use super::grants::{required, REFRESH_TOKEN};
use super::oidc::{self, Authentication, OPENID};
use super::pkce;
use super::revocation_events;
use super::tokens::{issue, AccessToken, Grant};
use crate::db::{self, codes, tokens, users};
use crate::error::Error;
use crate::state::AppState;

/// Why an exchange was refused, decided inside the transaction and acted on after it.
enum Refused {
    Invalid(&'static str),
    /// The code was used before: what it issued is revoked.
    Reused {
        code_id: i64,
        family_id: String,
    },
}

/// What the transaction hands back for the id_token.
struct Issued {
    response: TokenResponse,
    subject: String,
    email: String,
    scope: Scopes,
    auth_time: i64,
    nonce: Option<String>,
}

pub async fn exchange_code(
    state: &AppState,
    client: Client,
    request: TokenRequest,
    target: Option<Target>,
    now: i64,
) -> Result<TokenResponse, Error> {
    let hash = token_digest(required(&request.code, "code")?);
    // RFC 6749 §4.1.3: required when the authorization request carried it. A client with a single registered
    // URI may have left it out there, and then here too; the code stays bound to that URI either way.
    let redirect_uri = match request.redirect_uri.as_deref().filter(|uri| !uri.is_empty()) {
        Some(uri) => uri.to_owned(),
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(Error::invalid_request("the \"redirect_uri\" parameter is required")),
        },
    };
    let verifier = request.code_verifier.filter(|v| !v.is_empty());
    let policy = state.policy.clone();
    let with_refresh = client.may_use_grant(REFRESH_TOKEN);
    let client_pk = client.pk;
    let format = client.access_token_format;
    let client_id = client.client_id.clone();
    let signed_for = client.client_id;

    let outcome = db::write(&state.pool, move |c| -> Result<Result<Issued, Refused>, Error> {
        let Some(code) = codes::find(c, &hash)? else {
            return Ok(Err(Refused::Invalid("unknown authorization code")));
        };
        if code.client_id != client_pk {
            return Ok(Err(Refused::Invalid("the authorization code was issued to another client")));
        }
        if code.used_at.is_some() {
            return Ok(Err(Refused::Reused { code_id: code.id, family_id: code.family_id }));
        }
        if code.expires_at <= now {
            return Ok(Err(Refused::Invalid("the authorization code has expired")));
        }
        if code.redirect_uri != redirect_uri {
            return Ok(Err(Refused::Invalid("redirect_uri differs from the authorization request's")));
        }
        match (&code.code_challenge, &verifier) {
            (Some(challenge), Some(verifier)) if pkce::verifies(verifier, challenge) => {}
            (Some(_), Some(_)) => return Ok(Err(Refused::Invalid("the code_verifier does not match"))),
            (Some(_), None) => return Ok(Err(Refused::Invalid("the code_verifier is missing"))),
            (None, Some(_)) => return Ok(Err(Refused::Invalid("no code_challenge was sent for this code"))),
            (None, None) => {}
        }
        // Of two concurrent exchanges, the one that does not mark the code used here is a reuse.
        if !codes::use_code(c, &hash, client_pk, now)? {
            return Ok(Err(Refused::Reused { code_id: code.id, family_id: code.family_id }));
        }
        let scope = Scopes::parse(&code.scope).unwrap_or_default();
        if let Some(target) = &target {
            // An error rolls the use of the code back: a refused exchange does not burn it.
            target.check_scope(&scope)?;
        }
        // A disabling deletes the user's codes; the lock covers a code issued while it ran (see
        // `users::lock_enabled`).
        if !users::lock_enabled(c, code.user_id)? {
            return Ok(Err(Refused::Invalid("the user may no longer sign in")));
        }
        let Some(user) = users::find(c, code.user_id)? else {
            return Ok(Err(Refused::Invalid("the user no longer exists")));
        };
        let audience = target.as_ref().map(|t| t.identifier.as_str());
        let jwt = Subject {
            client_id: &client_id,
            user: Some(&user.subject),
            scope: &code.scope,
            auth_time: Some(code.auth_time),
            audience,
        };
        let grant = Grant {
            access: AccessToken::of(format, jwt),
            client_pk,
            user_id: Some(user.id),
            audience,
            scope: &code.scope,
            refresh_family: with_refresh.then_some(code.family_id.as_str()),
            authorization_code_id: Some(code.id),
        };
        let response = issue(c, &policy, &grant, now)?;
        Ok(Ok(Issued {
            response,
            subject: user.subject,
            email: user.email,
            scope,
            auth_time: code.auth_time,
            nonce: code.nonce,
        }))
    })
    .await?;

    let issued = match outcome {
        Ok(issued) => issued,
        Err(Refused::Invalid(why)) => return Err(Error::oauth(ErrorCode::InvalidGrant, why)),
        Err(Refused::Reused { code_id, family_id }) => {
            log::warn!("authorization code reuse detected; revoking the tokens issued from it");
            db::write(&state.pool, move |c| {
                // The family first: it locks the user against a rotation of the same family (db::tokens).
                let mut ended = tokens::revoke_family(c, &family_id, now)?;
                ended.extend(tokens::revoke_access_of_code(c, code_id, now)?);
                ended.sort_unstable();
                ended.dedup();
                Ok(revocation_events::record(c, RevocationEvent::Tokens { digests: ended }, now)?)
            })
            .await?;
            state.revocations.wake();
            return Err(Error::oauth(ErrorCode::InvalidGrant, "the authorization code was already used"));
        }
    };
    super::grants::audit_issued(
        super::grants::AUTHORIZATION_CODE,
        &signed_for,
        Some(&issued.subject),
        &issued.response,
    );
    if !issued.scope.contains(OPENID) {
        return Ok(issued.response);
    }
    // RSA signing is CPU work: off the async workers, and after the transaction so no connection waits on it.
    let keys = state.keys.clone();
    let issuer = state.issuer.clone();
    let lifetime = state.policy.access_token_lifetime;
    let mut response = issued.response;
    let access_token = response.access_token.clone();
    let id_token = tokio::task::spawn_blocking(move || {
        let who = Authentication {
            issuer: &issuer,
            client_id: &signed_for,
            subject: &issued.subject,
            email: &issued.email,
            scope: &issued.scope,
            auth_time: issued.auth_time,
            nonce: issued.nonce.as_deref(),
            access_token: &access_token,
        };
        oidc::id_token(&keys, &who, now, lifetime)
    })
    .await
    .map_err(|_| Error::Signing(super::keys::KeyError::Task))??;
    response.id_token = Some(id_token);
    Ok(response)
}
