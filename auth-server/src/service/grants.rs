//! The token endpoint's grants: password (RFC 6749 §4.3), client_credentials (§4.4) and refresh_token (§6)
//! with rotation and reuse detection (RFC 9700 §4.14.2).

use shared_core::oauth::{ErrorCode, Scopes, TokenRequest, TokenResponse};
use shared_core::revocation::RevocationEvent;
use shared_core::token_digest;

use super::access_jwt::Subject;
use super::audiences::{self, Target};
use super::client_auth::{Client, ClientCredentials};
use super::registration::AccessTokenFormat;
use super::revocation_events;
use super::scopes::grant_scopes;
use super::sign_in::{check_password, Attempt};
use super::tokens::{issue, sign_ahead, AccessToken, Grant};
use crate::audit::{self, Event, Method};
use crate::db::{self, clients, tokens, users};
use crate::error::Error;
use crate::state::AppState;

pub const AUTHORIZATION_CODE: &str = "authorization_code";
pub const PASSWORD: &str = "password";
pub const REFRESH_TOKEN: &str = "refresh_token";
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
pub const SUPPORTED_GRANTS: [&str; 4] = [AUTHORIZATION_CODE, PASSWORD, REFRESH_TOKEN, CLIENT_CREDENTIALS];

pub(super) fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, Error> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::invalid_request(format!("the \"{name}\" parameter is required"))),
    }
}

/// Authenticates the client, checks that it may use the grant, and runs the grant at time `now`.
/// `request`'s client credentials have been taken out into `credentials`.
pub async fn exchange(
    state: &AppState,
    credentials: ClientCredentials,
    request: TokenRequest,
    now: i64,
) -> Result<TokenResponse, Error> {
    let grant_type = required(&request.grant_type, "grant_type")?.to_owned();
    let client_id = credentials.client_id.clone();
    let row = db::read(&state.pool, move |c| Ok(clients::find_by_client_id(c, &client_id)?)).await?;
    let client = state.clients.authenticate(&state.hasher, &credentials, row).await?;

    if !SUPPORTED_GRANTS.contains(&grant_type.as_str()) {
        return Err(Error::oauth(
            ErrorCode::UnsupportedGrantType,
            format!("grant type {grant_type:?} is not supported"),
        ));
    }
    if !client.may_use_grant(&grant_type) {
        return Err(Error::oauth(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    let target = audiences::resolve(state, &client, request.resource.as_deref()).await?;
    let client_id = client.client_id.clone();
    let (grant, response) = match grant_type.as_str() {
        AUTHORIZATION_CODE => {
            (AUTHORIZATION_CODE, super::code_exchange::exchange_code(state, client, request, target, now).await?)
        }
        PASSWORD => (PASSWORD, password_grant(state, client, request, target, now).await?),
        CLIENT_CREDENTIALS => {
            (CLIENT_CREDENTIALS, client_credentials_grant(state, client, request, target, now).await?)
        }
        _ => (REFRESH_TOKEN, refresh_grant(state, client, request, target, now).await?),
    };
    crate::metrics::token_issued(grant, client_id);
    Ok(response)
}

async fn password_grant(
    state: &AppState,
    client: Client,
    request: TokenRequest,
    target: Option<Target>,
    now: i64,
) -> Result<TokenResponse, Error> {
    let username = required(&request.username, "username")?;
    let password = required(&request.password, "password")?.to_owned();
    let scope = grant_scopes(request.scope.as_deref(), &client.scopes, &state.policy.default_scopes, true)?;
    if let Some(target) = &target {
        target.check_scope(&scope)?;
    }
    let attempt = Attempt { method: Method::PasswordGrant, client_id: Some(&client.client_id) };
    let Some(user) = check_password(state, username, password, attempt, now).await? else {
        return Err(Error::oauth(ErrorCode::InvalidGrant, "invalid credentials given"));
    };

    let policy = state.policy.clone();
    let with_refresh = client.may_use_grant(REFRESH_TOKEN);
    let scope = scope.to_string();
    let audience = target.map(|t| t.identifier);
    let subject = Subject {
        client_id: &client.client_id,
        user: Some(&user.subject),
        scope: &scope,
        auth_time: None,
        audience: audience.as_deref(),
    };
    let access = sign_ahead(&policy, AccessToken::of(client.access_token_format, subject), now).await?;
    let (client_id, user_subject) = (client.client_id.clone(), user.subject.clone());
    let response = db::write(&state.pool, move |c| {
        // Disabled (or deleted) since its password was checked: the same answer as a wrong password.
        if !users::lock_enabled(c, user.id)? {
            return Err(Error::oauth(ErrorCode::InvalidGrant, "invalid credentials given"));
        }
        let family = uuid::Uuid::new_v4().to_string();
        let grant = Grant {
            access,
            client_pk: client.pk,
            user_id: Some(user.id),
            audience: audience.as_deref(),
            scope: &scope,
            refresh_family: with_refresh.then_some(family.as_str()),
            authorization_code_id: None,
        };
        issue(c, &policy, &grant, now)
    })
    .await?;
    audit_issued(PASSWORD, &client_id, Some(&user_subject), &response);
    Ok(response)
}

/// The audit line of a token response.
pub(super) fn audit_issued(grant: &str, client_id: &str, user: Option<&str>, response: &TokenResponse) {
    audit::emit(Event::TokenIssued { grant, client_id, user, scope: &response.scope });
}

async fn client_credentials_grant(
    state: &AppState,
    client: Client,
    request: TokenRequest,
    target: Option<Target>,
    now: i64,
) -> Result<TokenResponse, Error> {
    if !client.confidential {
        return Err(Error::oauth(ErrorCode::UnauthorizedClient, "public clients may not use client_credentials"));
    }
    let scope = grant_scopes(request.scope.as_deref(), &client.scopes, &state.policy.default_scopes, false)?;
    if let Some(target) = &target {
        target.check_scope(&scope)?;
    }
    let policy = state.policy.clone();
    let scope = scope.to_string();
    let audience = target.map(|t| t.identifier);
    let subject = Subject {
        client_id: &client.client_id,
        user: None,
        scope: &scope,
        auth_time: None,
        audience: audience.as_deref(),
    };
    let access = sign_ahead(&policy, AccessToken::of(client.access_token_format, subject), now).await?;
    let client_id = client.client_id.clone();
    let response = db::write(&state.pool, move |c| {
        let grant = Grant {
            access,
            client_pk: client.pk,
            user_id: None,
            audience: audience.as_deref(),
            scope: &scope,
            refresh_family: None,
            authorization_code_id: None,
        };
        issue(c, &policy, &grant, now)
    })
    .await?;
    audit_issued(CLIENT_CREDENTIALS, &client_id, None, &response);
    Ok(response)
}

/// A refresh's new tokens; whether it ended an access token (an event to wake the streams for), and the
/// user's subject for the audit trail.
struct Rotated {
    response: TokenResponse,
    recorded: bool,
    subject: Option<String>,
}

/// Why a refresh was refused, decided inside the transaction and acted on after it.
enum Refused {
    Invalid(&'static str),
    /// A retired token came back: its whole family is revoked.
    Reused(String),
}

async fn refresh_grant(
    state: &AppState,
    client: Client,
    request: TokenRequest,
    target: Option<Target>,
    now: i64,
) -> Result<TokenResponse, Error> {
    let presented = required(&request.refresh_token, "refresh_token")?;
    let hash = token_digest(presented);
    let requested_scope = match request.scope.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(Scopes::parse(text).map_err(|e| Error::oauth(ErrorCode::InvalidScope, e.to_string()))?),
        None => None,
    };
    let policy = state.policy.clone();
    let client_id = client.client_id.clone();
    let outcome = db::write(&state.pool, move |c| -> Result<Result<Rotated, Refused>, Error> {
        let at = now;
        tokens::lock_refresh_owner_for_rotation(c, &hash)?;
        let retired = tokens::retire_refresh(c, &hash, client.pk, at)?;
        let Some(old) = tokens::find_refresh(c, &hash)? else {
            return Ok(Err(Refused::Invalid("unknown refresh token")));
        };
        if old.client_id != client.pk {
            return Ok(Err(Refused::Invalid("the refresh token was issued to another client")));
        }
        if !retired {
            if old.revoked_at.is_some() {
                return Ok(Err(Refused::Reused(old.family_id)));
            }
            return Ok(Err(Refused::Invalid("the refresh token has expired")));
        }
        // RFC 6749 §6: the new scope may narrow the original, never widen it.
        let original = Scopes::parse(&old.scope).unwrap_or_default();
        let scope = match requested_scope {
            // An error rolls the retirement back: a refused request does not consume the token.
            Some(requested) if !requested.is_subset(&original) => {
                return Err(Error::oauth(ErrorCode::InvalidScope, "the requested scope exceeds the original grant"));
            }
            Some(requested) => requested,
            None => original,
        };
        // RFC 8707 §2.2: a refresh may name a resource; without one, the tokens stay for the original's.
        let audience = match &target {
            Some(target) => {
                target.check_scope(&scope)?;
                Some(target.identifier.clone())
            }
            None => old.audience.clone(),
        };
        // A JWT names its user; the audit trail too. (The user's row is share-locked above, so a disabling
        // has either committed and shows here, or waits for this rotation and then revokes its tokens.)
        let user = users::find(c, old.user_id)?;
        if user.as_ref().is_some_and(|user| user.disabled_at != 0) {
            return Err(Error::oauth(ErrorCode::InvalidGrant, "the refresh token was revoked"));
        }
        let subject = user.map(|user| user.subject);
        // The access token issued with the old refresh token ends with it.
        let ended = tokens::revoke_access_of_refresh(c, old.id, at)?;
        let recorded = !ended.is_empty();
        revocation_events::record(c, RevocationEvent::Tokens { digests: ended }, at)?;
        let scope = scope.to_string();
        let jwt = Subject {
            client_id: &client.client_id,
            user: subject.as_deref().filter(|_| client.access_token_format == AccessTokenFormat::Jwt),
            scope: &scope,
            auth_time: None,
            audience: audience.as_deref(),
        };
        let grant = Grant {
            access: AccessToken::of(client.access_token_format, jwt),
            client_pk: client.pk,
            audience: audience.as_deref(),
            user_id: Some(old.user_id),
            scope: &scope,
            refresh_family: Some(&old.family_id),
            authorization_code_id: None,
        };
        issue(c, &policy, &grant, at).map(|response| Ok(Rotated { response, recorded, subject }))
    })
    .await?;

    match outcome {
        Ok(Rotated { response, recorded, subject }) => {
            if recorded {
                state.revocations.wake();
            }
            audit_issued(REFRESH_TOKEN, &client_id, subject.as_deref(), &response);
            Ok(response)
        }
        Err(Refused::Invalid(why)) => Err(Error::oauth(ErrorCode::InvalidGrant, why)),
        Err(Refused::Reused(family)) => {
            log::warn!("refresh token reuse detected; revoking its token family");
            audit::emit(Event::RefreshReuseDetected { client_id: &client_id, user: None });
            db::write(&state.pool, move |c| {
                let ended = tokens::revoke_family(c, &family, now)?;
                Ok(revocation_events::record(c, RevocationEvent::Tokens { digests: ended }, now)?)
            })
            .await?;
            state.revocations.wake();
            Err(Error::oauth(ErrorCode::InvalidGrant, "the refresh token was already used or revoked"))
        }
    }
}
