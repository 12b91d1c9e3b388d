//! Users as the operator manages them: created under the same rules as signup, unlocked, their tokens
//! revoked.

use shared_core::clock;
use shared_core::db::DbPool;
use shared_core::FieldErrors;

use super::{hash, AdminError};
use shared_core::revocation::RevocationEvent;

use crate::db::{sessions, tokens, users};
use crate::password::{email, validation};
use crate::service::revocation_events;

/// Creates a user with the same rules as signup; returns the normalised email.
pub async fn create_user(
    pool: &DbPool,
    raw_email: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<String, AdminError> {
    let normalized =
        email::normalize(raw_email).ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))?;
    let mut errors = FieldErrors::new();
    validation::validate_new_password(password, password, &normalized, &mut errors);
    if !errors.is_empty() {
        return Err(AdminError::InvalidUser(errors.messages("password").join(" ")));
    }
    let password_hash = hash(password.to_owned(), bcrypt_cost).await?;
    let subject = uuid::Uuid::new_v4().to_string();
    let stored = normalized.clone();
    let created = pool
        .write(move |c| -> Result<bool, AdminError> {
            let at = clock::now();
            let user = users::NewUser {
                subject: &subject,
                email: &stored,
                email_key: &email::email_key(&stored),
                password_hash: &password_hash,
                created_at: at,
                password_changed_at: at,
            };
            Ok(users::insert(c, &user)?)
        })
        .await?;
    if !created {
        return Err(AdminError::InvalidUser("user with this email already exists.".into()));
    }
    Ok(normalized)
}

/// Lifts the lock of the account with this email and forgets its wrong passwords. Returns the user's
/// subject and whether there was anything to lift; `InvalidUser` when no account has that email.
pub async fn unlock_user(pool: &DbPool, raw_email: &str) -> Result<(String, bool), AdminError> {
    let key = email::normalize(raw_email).map(|e| email::email_key(&e));
    let key = key.ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))?;
    pool.write(move |c| -> Result<(String, bool), AdminError> {
        let user = users::find_by_email_key(c, &key)?
            .ok_or_else(|| AdminError::InvalidUser("no user with this email".into()))?;
        let cleared = users::clear_failed_logins(c, user.id)?;
        Ok((user.subject, cleared))
    })
    .await
}

/// Ends every token and browser session of the account with this email, as a password change does for the
/// others (and tells the resource servers: a `user` revocation event). Returns the user's subject.
pub async fn revoke_user_tokens(pool: &DbPool, raw_email: &str) -> Result<String, AdminError> {
    let key = email::normalize(raw_email).map(|e| email::email_key(&e));
    let key = key.ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))?;
    let now = clock::now();
    pool.write(move |c| -> Result<String, AdminError> {
        let user = users::find_by_email_key(c, &key)?
            .ok_or_else(|| AdminError::InvalidUser("no user with this email".into()))?;
        // No access token has id 0: none is kept.
        let digests = tokens::revoke_user_tokens_except(c, user.id, 0, now)?;
        sessions::delete_for_user(c, user.id)?;
        let event = RevocationEvent::User { sub: user.subject.clone(), issued_before: now, kept: None, digests };
        revocation_events::record(c, event, now)?;
        Ok(user.subject)
    })
    .await
}
