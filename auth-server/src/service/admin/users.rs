//! Users as the operator manages them: created under the same rules as signup, listed and shown, unlocked,
//! disabled and enabled, given a new password, deleted, their tokens revoked. Whatever ends a user's tokens
//! appends a `user` revocation event in the same transaction, so resource servers hear of it at once.

use serde::Serialize;
use shared_core::clock;
use shared_core::db::{DbConn, DbPool};
use shared_core::revocation::RevocationEvent;
use shared_core::FieldErrors;

use super::{hash, AdminError};
use crate::db::users::{User, UserRecord};
use crate::db::{codes, sessions, token_admin, tokens, users};
use crate::password::{email, validation};
use crate::service::revocation_events;

/// Creates a user with the same rules as signup; returns the normalised email.
pub async fn create_user(
    pool: &DbPool,
    raw_email: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<String, AdminError> {
    let normalized = normalized_email(raw_email)?;
    check_new_password(password, &normalized)?;
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
    with_user(pool, raw_email, |c, user| {
        let cleared = users::clear_failed_logins(c, user.id)?;
        Ok((user.subject, cleared))
    })
    .await
}

/// Ends every token and browser session of the account with this email, as a password change does for the
/// others (and tells the resource servers: a `user` revocation event). Returns the user's subject.
pub async fn revoke_user_tokens(pool: &DbPool, raw_email: &str) -> Result<String, AdminError> {
    let now = clock::now();
    with_user(pool, raw_email, move |c, user| {
        end_everything_of(c, &user, now)?;
        Ok(user.subject)
    })
    .await
}

/// Runs `work` on the account with this email in one transaction; `InvalidUser` when there is none.
async fn with_user<T: Send + 'static>(
    pool: &DbPool,
    raw_email: &str,
    work: impl FnOnce(&mut DbConn, User) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    let key = email_key_of(raw_email)?;
    pool.write(move |c| -> Result<T, AdminError> {
        let user = users::find_by_email_key(c, &key)?
            .ok_or_else(|| AdminError::InvalidUser("no user with this email".into()))?;
        work(c, user)
    })
    .await
}

/// Ends every token and browser session of `user` at `now`, with a `user` revocation event, in the caller's
/// transaction. Run after any update of the user's row, which locks out token rotations (see `db::tokens`).
fn end_everything_of(c: &mut DbConn, user: &User, now: i64) -> diesel::QueryResult<()> {
    // No access token has id 0: none is kept.
    let digests = tokens::revoke_user_tokens_except(c, user.id, 0, now)?;
    sessions::delete_for_user(c, user.id)?;
    let event = RevocationEvent::User { sub: user.subject.clone(), issued_before: now, kept: None, digests };
    revocation_events::record(c, event, now)
}

fn normalized_email(raw_email: &str) -> Result<String, AdminError> {
    email::normalize(raw_email).ok_or_else(|| AdminError::InvalidUser("Enter a valid email address.".into()))
}

fn email_key_of(raw_email: &str) -> Result<String, AdminError> {
    normalized_email(raw_email).map(|e| email::email_key(&e))
}

/// Signup's rules for a new password of the account `normalized_email`.
fn check_new_password(password: &str, normalized_email: &str) -> Result<(), AdminError> {
    let mut errors = FieldErrors::new();
    validation::validate_new_password(password, password, normalized_email, &mut errors);
    if !errors.is_empty() {
        return Err(AdminError::InvalidUser(errors.messages("password").join(" ")));
    }
    Ok(())
}

/// Whether an account may sign in, as `user list` and `user show` say it. Times are epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UserState {
    Active,
    Disabled {
        disabled_at: i64,
    },
    /// Too many wrong passwords (`user unlock` lifts it).
    Locked {
        locked_until: i64,
    },
}

impl UserState {
    fn of(record: &UserRecord, now: i64) -> Self {
        if record.disabled_at != 0 {
            Self::Disabled { disabled_at: record.disabled_at }
        } else if record.locked_until > now {
            Self::Locked { locked_until: record.locked_until }
        } else {
            Self::Active
        }
    }
}

/// A line of `user list`.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub email: String,
    pub subject: String,
    pub created_at: i64,
    #[serde(flatten)]
    pub state: UserState,
}

/// `user show`: everything about an account but its password hash.
#[derive(Debug, Clone, Serialize)]
pub struct UserDetails {
    #[serde(flatten)]
    pub summary: UserSummary,
    pub password_changed_at: i64,
    /// Wrong passwords in the current lockout window.
    pub failed_logins: i64,
    pub live_access_tokens: i64,
    pub live_refresh_tokens: i64,
}

/// Every user, oldest first; with `email_contains`, those whose email contains it, whatever the case.
pub async fn list_users(pool: &DbPool, email_contains: Option<&str>) -> Result<Vec<UserSummary>, AdminError> {
    let part = email_contains.map(str::to_lowercase);
    let now = clock::now();
    let records = pool.read(move |c| -> Result<_, AdminError> { Ok(users::list(c, part.as_deref())?) }).await?;
    Ok(records.iter().map(|record| summary_of(record, now)).collect())
}

fn summary_of(record: &UserRecord, now: i64) -> UserSummary {
    UserSummary {
        email: record.email.clone(),
        subject: record.subject.clone(),
        created_at: record.created_at,
        state: UserState::of(record, now),
    }
}

/// The account with this email, with how many live tokens it has.
pub async fn show_user(pool: &DbPool, raw_email: &str) -> Result<UserDetails, AdminError> {
    let key = email_key_of(raw_email)?;
    let now = clock::now();
    pool.read(move |c| -> Result<UserDetails, AdminError> {
        let record = users::find_record_by_email_key(c, &key)?
            .ok_or_else(|| AdminError::InvalidUser("no user with this email".into()))?;
        let (live_access_tokens, live_refresh_tokens) = token_admin::count_live(c, record.id, now)?;
        Ok(UserDetails {
            summary: summary_of(&record, now),
            password_changed_at: record.password_changed_at,
            failed_logins: record.failed_logins,
            live_access_tokens,
            live_refresh_tokens,
        })
    })
    .await
}

/// Disables the account: it can no longer sign in (the password checks answer as for a wrong password),
/// and every token, session and authorization code it has ends now. Returns the subject and whether it
/// was enabled (disabling a disabled account changes nothing).
pub async fn disable_user(pool: &DbPool, raw_email: &str) -> Result<(String, bool), AdminError> {
    let now = clock::now();
    with_user(pool, raw_email, move |c, user| {
        // The row's update comes first: it locks out rotations and grants in flight (`users::lock_enabled`).
        if !users::set_disabled_at(c, user.id, now)? {
            return Ok((user.subject, false));
        }
        // Codes before tokens: on PostgreSQL this waits for an exchange of one of them in flight, so that
        // the revocation below sees the tokens it issued.
        codes::delete_for_user(c, user.id)?;
        end_everything_of(c, &user, now)?;
        Ok((user.subject, true))
    })
    .await
}

/// Lets a disabled account sign in again. Returns the subject and whether it was disabled.
pub async fn enable_user(pool: &DbPool, raw_email: &str) -> Result<(String, bool), AdminError> {
    with_user(pool, raw_email, |c, user| {
        let changed = users::set_disabled_at(c, user.id, 0)?;
        Ok((user.subject, changed))
    })
    .await
}

/// Deletes the account: its tokens end (with a revocation event, so resource servers drop them now), then
/// the row goes and with it its tokens, sessions, consents and codes. Returns the subject. Whatever a
/// resource server keeps under that subject stays there (no new account ever gets the same subject).
pub async fn delete_user(pool: &DbPool, raw_email: &str) -> Result<String, AdminError> {
    let now = clock::now();
    with_user(pool, raw_email, move |c, user| {
        end_everything_of(c, &user, now)?;
        users::delete(c, user.id)?;
        Ok(user.subject)
    })
    .await
}

/// Sets the account's password (signup's rules) and ends every token and session it has: an operator's
/// reset usually means the account was compromised. Returns the subject.
pub async fn set_password(
    pool: &DbPool,
    raw_email: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<String, AdminError> {
    let normalized = normalized_email(raw_email)?;
    check_new_password(password, &normalized)?;
    // Hashed before the transaction: no connection waits on bcrypt.
    let new_hash = hash(password.to_owned(), bcrypt_cost).await?;
    let now = clock::now();
    with_user(pool, &normalized, move |c, user| {
        // The user's row first: it locks out rotations of the user's refresh tokens (db::tokens).
        users::set_password_hash(c, user.id, &new_hash, now)?;
        end_everything_of(c, &user, now)?;
        Ok(user.subject)
    })
    .await
}
