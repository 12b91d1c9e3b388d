//! The tutorial's account endpoints: signup and password change.

use shared_core::account::{PasswordChangeRequest, SignupRequest, SignupResponse};
use shared_core::field_errors::required_text;
use shared_core::revocation::RevocationEvent;
use shared_core::{token_digest, FieldErrors};

use super::revocation_events;
use super::sign_in::{verify_password, Attempt, PasswordCheck};
use crate::audit::{self, Event, Method};
use crate::db::{self, sessions, tokens, users};
use crate::error::Error;
use crate::password::{email, validation};
use crate::state::AppState;

pub const INVALID_EMAIL: &str = "Enter a valid email address.";
pub const EMAIL_TAKEN: &str = "user with this email already exists.";
pub const WRONG_PASSWORD: &str = "Wrong password.";

/// Reads a required text field, recording DRF's message when it is missing or blank.
fn field<'a>(value: &'a Option<String>, name: &str, errors: &mut FieldErrors) -> &'a str {
    required_text(value.as_deref(), name, errors).unwrap_or("")
}

/// Creates a user at time `now`; answers the tutorial's `{"email": ...}`.
pub async fn signup(state: &AppState, request: SignupRequest, now: i64) -> Result<SignupResponse, Error> {
    let mut errors = FieldErrors::new();
    let raw_email = field(&request.email, "email", &mut errors);
    let password = field(&request.password, "password", &mut errors);
    let password2 = field(&request.password2, "password2", &mut errors);
    let normalized = if raw_email.is_empty() { None } else { email::normalize(raw_email) };
    if normalized.is_none() && !raw_email.is_empty() {
        errors.add("email", INVALID_EMAIL);
    }
    if !password.is_empty() && !password2.is_empty() {
        validation::validate_new_password(password, password2, normalized.as_deref().unwrap_or(raw_email), &mut errors);
    }
    let email = match normalized {
        Some(email) if errors.is_empty() => email,
        _ => return Err(errors.into()),
    };
    let key = email::email_key(&email);

    let probe = key.clone();
    if db::read(&state.pool, move |c| Ok(users::find_by_email_key(c, &probe)?)).await?.is_some() {
        return Err(FieldErrors::single("email", EMAIL_TAKEN).into());
    }
    let hash = state.hasher.hash(password.to_owned()).await?;
    let subject = uuid::Uuid::new_v4().to_string();
    let stored = email.clone();
    let inserted = db::write(&state.pool, move |c| {
        let user = users::NewUser {
            subject: &subject,
            email: &stored,
            email_key: &key,
            password_hash: &hash,
            created_at: now,
            password_changed_at: now,
        };
        Ok(users::insert(c, &user)?)
    })
    .await?;
    if !inserted {
        // Lost a race with a concurrent signup for the same address.
        return Err(FieldErrors::single("email", EMAIL_TAKEN).into());
    }
    log::info!("user signed up");
    Ok(SignupResponse { email })
}

/// Changes the password of the bearer token's user. Afterwards every refresh token of the user and every
/// access token but the one used are revoked, and every browser session ends, so a stolen session ends
/// with the change.
pub async fn change_password(
    state: &AppState,
    bearer: &str,
    request: PasswordChangeRequest,
    now: i64,
) -> Result<(), Error> {
    let hash = token_digest(bearer);
    let found = db::read(&state.pool, move |c| {
        let Some(token) = tokens::find_access(c, &hash)? else { return Ok(None) };
        let user = match token.user_id {
            Some(id) => users::find(c, id)?,
            None => None,
        };
        Ok(Some((token, user)))
    })
    .await?;
    let (token, user) = match found {
        Some((token, user)) if token.is_active(now) => (token, user),
        _ => return Err(Error::InvalidToken { token_sent: true }),
    };
    let user = user.ok_or(Error::UserRequired)?;

    let mut errors = FieldErrors::new();
    let old_password = field(&request.old_password, "old_password", &mut errors).to_owned();
    let password = field(&request.password, "password", &mut errors);
    let password2 = field(&request.password2, "password2", &mut errors);
    if !password.is_empty() && !password2.is_empty() {
        validation::validate_new_password(password, password2, &user.email, &mut errors);
    }
    errors.into_result()?;
    // The caller holds the user's token: telling it about a lock leaks nothing.
    let attempt = Attempt { method: Method::PasswordChange, client_id: None };
    match verify_password(state, &user, old_password, attempt, now).await? {
        PasswordCheck::Correct => {}
        // A disabled user's tokens were revoked with the disabling: this is a race lost by a hair.
        PasswordCheck::Wrong | PasswordCheck::Disabled => {
            return Err(FieldErrors::single("old_password", WRONG_PASSWORD).into())
        }
        PasswordCheck::Locked { until } => {
            return Err(Error::TooManyAttempts { retry_after: u64::try_from(until - now).unwrap_or(1).max(1) })
        }
    }
    let new_hash = state.hasher.hash(password.to_owned()).await?;
    let kept = token_digest(bearer);
    let (subject, email) = (user.subject.clone(), user.email.clone());
    db::write(&state.pool, move |c| {
        // The user's row first: it locks out rotations of the user's refresh tokens (db::tokens).
        users::set_password_hash(c, user.id, &new_hash, now)?;
        let digests = tokens::revoke_user_tokens_except(c, user.id, token.id, now)?;
        sessions::delete_for_user(c, user.id)?;
        let event = RevocationEvent::User { sub: user.subject.clone(), issued_before: now, kept: Some(kept), digests };
        Ok(revocation_events::record(c, event, now)?)
    })
    .await?;
    state.revocations.wake();
    log::info!("password changed; other sessions of the user revoked");
    audit::emit(Event::PasswordChanged { user: &subject, email: &email });
    Ok(())
}
