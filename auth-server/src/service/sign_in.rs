//! Who a person is: their password (the password grant, the login page and a password change check it the
//! same way, under the same lockout) and the browser session that remembers it. A session's cookie holds
//! 256 random bits; the database holds only their SHA-256, so a leaked table signs no one in.
//!
//! Lockout: `lockout.max_failures` wrong passwords within `lockout.window_secs` lock the account for
//! `lockout.first_lock_secs`, each further lock twice as long up to `lockout.max_lock_secs`; the counts live
//! in the user's row, so every instance sees them. While locked, even the right password is refused, and
//! the answer is the wrong password's, in the same time (no bcrypt runs): saying "locked" to whoever
//! typed an email would tell them the account exists. A disabled account (`user disable`) is refused the
//! same way, for the same reason.

use shared_core::token_digest;

use super::tokens::random_token;
use crate::audit::{self, Event, Failure, Method};
use crate::db::sessions::{self, NewSession, SessionRow};
use crate::db::users::{self, User};
use crate::db::{self};
use crate::error::Error;
use crate::password::{email, validation};
use crate::state::AppState;

/// How a password check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Correct,
    Wrong,
    /// The account is locked until then (epoch seconds); the password was not compared.
    Locked {
        until: i64,
    },
    /// The account is disabled; the password was not compared.
    Disabled,
}

/// Who is signing in, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub method: Method,
    pub client_id: Option<&'a str>,
}

/// The user with this email and password, or `None` (unknown, wrong password, locked or disabled: the
/// caller cannot tell which). Unknown users take as long as known ones; no connection is held while bcrypt runs.
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: String,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Option<User>, Error> {
    let key = email::normalize(username).map(|e| email::email_key(&e));
    let user = match key {
        Some(key) => db::read(&state.pool, move |c| Ok(users::find_by_email_key(c, &key)?)).await?,
        None => None,
    };
    let Some(user) = user else {
        state.hasher.verify(password, None).await?;
        audit::emit(Event::LoginFailed {
            method: attempt.method,
            client_id: attempt.client_id,
            user: None,
            email: None,
            reason: Failure::UnknownUser,
        });
        return Ok(None);
    };
    let check = verify_password(state, &user, password, attempt, now).await?;
    Ok((check == PasswordCheck::Correct).then_some(user))
}

/// Checks `user`'s password at `now` under the lockout policy, and records the outcome: a success clears
/// the failures, a failure counts (and may lock the account).
pub async fn verify_password(
    state: &AppState,
    user: &User,
    password: String,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<PasswordCheck, Error> {
    let failed = |reason| Event::LoginFailed {
        method: attempt.method,
        client_id: attempt.client_id,
        user: Some(&user.subject),
        email: Some(&user.email),
        reason,
    };
    if user.disabled_at != 0 {
        state.hasher.verify(password, None).await?;
        audit::emit(failed(Failure::Disabled));
        return Ok(PasswordCheck::Disabled);
    }
    if user.locked_until > now {
        state.hasher.verify(password, None).await?;
        audit::emit(failed(Failure::Locked));
        return Ok(PasswordCheck::Locked { until: user.locked_until });
    }
    // Passwords longer than bcrypt reads cannot be an account's password (they are refused at signup).
    let too_long = password.len() > validation::MAX_BYTES;
    let matched = state.hasher.verify(password, Some(user.password_hash.clone())).await? && !too_long;
    if matched {
        if user.failed_logins != 0 || user.lockouts != 0 || user.locked_until != 0 {
            let id = user.id;
            db::write(&state.pool, move |c| Ok(users::clear_failed_logins(c, id)?)).await?;
        }
        if attempt.method != Method::PasswordChange {
            audit::emit(Event::LoginSucceeded {
                method: attempt.method,
                client_id: attempt.client_id,
                user: &user.subject,
                email: &user.email,
            });
        }
        return Ok(PasswordCheck::Correct);
    }
    audit::emit(failed(Failure::WrongPassword));
    let (id, lockout) = (user.id, state.lockout.clone());
    let locked = db::write(&state.pool, move |c| {
        let lock_secs = |previous| lockout.lock_secs(previous);
        Ok(users::record_failed_login(c, id, now, lockout.window_secs, lockout.max_failures, lock_secs)?)
    })
    .await?;
    if let Some(until) = locked {
        log::warn!("an account was locked after repeated wrong passwords (see the audit trail)");
        crate::metrics::account_locked();
        audit::emit(Event::AccountLocked {
            user: &user.subject,
            email: &user.email,
            until,
            lockouts: user.lockouts + 1,
        });
    }
    Ok(PasswordCheck::Wrong)
}

/// A session cookie's value as it may look: 43 base64url characters. Anything else is not looked up.
pub fn well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The digest a session is stored under, if the cookie value can be a session at all.
pub fn session_digest(token: Option<&str>) -> Option<String> {
    token.filter(|t| well_formed(t)).map(token_digest)
}

/// A new session for `user` signed in at `now`; the session `replacing` (the cookie the browser had) ends,
/// so that an id planted before sign-in is worth nothing after it (session fixation). Returns the cookie
/// value and the session.
pub async fn start_session(
    state: &AppState,
    user: &User,
    replacing: Option<&str>,
    now: i64,
) -> Result<(String, SessionRow), Error> {
    let token = random_token()?;
    let hash = token_digest(&token);
    let old = session_digest(replacing);
    let expires_at = now + state.browser.session_lifetime;
    let user_id = user.id;
    db::write(&state.pool, move |c| {
        if let Some(old) = old {
            sessions::delete(c, &old)?;
        }
        let session = NewSession { session_hash: &hash, user_id, auth_time: now, created_at: now, expires_at };
        Ok(sessions::insert(c, &session)?)
    })
    .await?;
    let row = SessionRow {
        id: 0,
        user_id: user.id,
        auth_time: now,
        expires_at,
        subject: user.subject.clone(),
        email: user.email.clone(),
    };
    Ok((token, row))
}

/// Ends the session of this cookie value, if there is one.
pub async fn end_session(state: &AppState, token: Option<&str>) -> Result<(), Error> {
    if let Some(hash) = session_digest(token) {
        db::write(&state.pool, move |c| Ok(sessions::delete(c, &hash)?)).await?;
    }
    Ok(())
}
