//! Who a person is: their password (the password grant and the login page check it the same way) and the
//! browser session that remembers it. A session's cookie holds 256 random bits; the database holds only
//! their SHA-256, so a leaked table signs no one in.

use shared_core::token_digest;

use super::tokens::random_token;
use crate::db::sessions::{self, NewSession, SessionRow};
use crate::db::users::{self, User};
use crate::db::{self};
use crate::error::Error;
use crate::password::{email, validation};
use crate::state::AppState;

/// The user with this email and password, or `None`. Unknown users cost the same bcrypt check as known
/// ones; no connection is held while it runs. Passwords longer than bcrypt reads cannot be an account's
/// password (they are refused at signup).
pub async fn check_password(state: &AppState, username: &str, password: String) -> Result<Option<User>, Error> {
    let key = email::normalize(username).map(|e| email::email_key(&e));
    let user = match key {
        Some(key) => db::read(&state.pool, move |c| Ok(users::find_by_email_key(c, &key)?)).await?,
        None => None,
    };
    let too_long = password.len() > validation::MAX_BYTES;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.hasher.verify(password, hash).await? && !too_long;
    Ok(user.filter(|_| verified))
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
