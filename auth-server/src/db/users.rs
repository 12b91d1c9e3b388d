//! User rows.

use diesel::prelude::*;
use shared_core::db::{exec, is_unique_violation, DbConn};

use super::schema::users;

#[derive(Debug, Clone, Queryable)]
pub struct User {
    pub id: i64,
    pub subject: String,
    pub email: String,
    pub password_hash: String,
    /// Wrong passwords in the current lockout window.
    pub failed_logins: i64,
    /// Locked until this time (epoch seconds; 0: never locked).
    pub locked_until: i64,
    /// Locks in a row since the last successful sign-in.
    pub lockouts: i64,
    /// Disabled since this time (epoch seconds; 0: enabled).
    pub disabled_at: i64,
}

/// The columns a [`User`] is read from.
// Read through a column tuple rather than `as_select()`, whose type is tied to one backend: statements run on
// the concrete connection (see `shared_core::db::exec`).
#[allow(clippy::type_complexity)]
const USER_COLUMNS: (
    users::id,
    users::subject,
    users::email,
    users::password_hash,
    users::failed_logins,
    users::locked_until,
    users::lockouts,
    users::disabled_at,
) = (
    users::id,
    users::subject,
    users::email,
    users::password_hash,
    users::failed_logins,
    users::locked_until,
    users::lockouts,
    users::disabled_at,
);

#[derive(Insertable)]
// Fixed INSERT text, so diesel caches it as a prepared statement (see `tokens::NewAccessToken`).
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct NewUser<'a> {
    pub subject: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub created_at: i64,
    pub password_changed_at: i64,
}

/// `Ok(false)` when the email (case-insensitively) is taken, including by a concurrent signup.
pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> QueryResult<bool> {
    let inserted = exec::execute(conn, diesel::insert_into(users::table).values(user));
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find_by_email_key(conn: &mut DbConn, email_key: &str) -> QueryResult<Option<User>> {
    exec::first(conn, users::table.filter(users::email_key.eq(email_key)).select(USER_COLUMNS)).optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    exec::first(conn, users::table.find(id).select(USER_COLUMNS)).optional()
}

/// Whether the user may be issued tokens: it exists and is not disabled. On PostgreSQL it share-locks the
/// row until the transaction ends, so that a concurrent `user disable` (which updates the row) either
/// waits for this grant's tokens, and then revokes them, or commits first and is seen here.
pub fn lock_enabled(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    let query = users::table.find(id).select(users::disabled_at);
    let disabled_at: Option<i64> = match conn {
        DbConn::Postgres(pg) => query.for_share().first(pg).optional()?,
        DbConn::Sqlite(sqlite) => query.first(sqlite).optional()?,
    };
    Ok(disabled_at == Some(0))
}

pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str, now: i64) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(users::table.find(id)).set((users::password_hash.eq(hash), users::password_changed_at.eq(now))),
    )
}

/// Counts a wrong password at `now` in a window of `window` seconds; when that makes `max_failures`, locks
/// the account for `lock_secs(locks so far)`. Returns the new `locked_until` when this failure locked it.
/// Run inside a transaction: the first update takes the row's lock, so concurrent failures all count.
pub fn record_failed_login(
    conn: &mut DbConn,
    id: i64,
    now: i64,
    window: i64,
    max_failures: i64,
    lock_secs: impl Fn(i64) -> i64,
) -> QueryResult<Option<i64>> {
    // A stale window starts over.
    exec::execute(
        conn,
        diesel::update(users::table.find(id).filter(users::failures_since.le(now - window)))
            .set((users::failed_logins.eq(0), users::failures_since.eq(now))),
    )?;
    exec::execute(conn, diesel::update(users::table.find(id)).set(users::failed_logins.eq(users::failed_logins + 1)))?;
    let (failures, lockouts): (i64, i64) =
        exec::first(conn, users::table.find(id).select((users::failed_logins, users::lockouts)))?;
    if max_failures == 0 || failures < max_failures {
        return Ok(None);
    }
    let until = now + lock_secs(lockouts);
    exec::execute(
        conn,
        diesel::update(users::table.find(id)).set((
            users::locked_until.eq(until),
            users::lockouts.eq(users::lockouts + 1),
            users::failed_logins.eq(0),
            users::failures_since.eq(0),
        )),
    )?;
    Ok(Some(until))
}

/// Forgets wrong passwords and locks (a successful sign-in, `user unlock`). Returns whether anything was
/// there to forget.
pub fn clear_failed_logins(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    let changed = exec::execute(
        conn,
        diesel::update(
            users::table
                .find(id)
                .filter(users::failed_logins.ne(0).or(users::lockouts.ne(0)).or(users::locked_until.ne(0))),
        )
        .set((
            users::failed_logins.eq(0),
            users::failures_since.eq(0),
            users::locked_until.eq(0),
            users::lockouts.eq(0),
        )),
    )?;
    Ok(changed > 0)
}

/// A user as the operator sees it (`user list`, `user show`): never the password hash.
#[derive(Debug, Clone, Queryable)]
pub struct UserRecord {
    pub id: i64,
    pub subject: String,
    pub email: String,
    pub created_at: i64,
    pub password_changed_at: i64,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub disabled_at: i64,
}

#[allow(clippy::type_complexity)]
const RECORD_COLUMNS: (
    users::id,
    users::subject,
    users::email,
    users::created_at,
    users::password_changed_at,
    users::failed_logins,
    users::locked_until,
    users::disabled_at,
) = (
    users::id,
    users::subject,
    users::email,
    users::created_at,
    users::password_changed_at,
    users::failed_logins,
    users::locked_until,
    users::disabled_at,
);

/// Every user, oldest first; with `key_contains`, those whose (lower-cased) email contains it.
pub fn list(conn: &mut DbConn, key_contains: Option<&str>) -> QueryResult<Vec<UserRecord>> {
    let query = users::table.order(users::id).select(RECORD_COLUMNS);
    match key_contains {
        Some(part) => {
            // LIKE's own wildcards in the text match themselves.
            let escaped = part.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            exec::load(conn, query.filter(users::email_key.like(format!("%{escaped}%")).escape('\\')))
        }
        None => exec::load(conn, query),
    }
}

pub fn find_record_by_email_key(conn: &mut DbConn, email_key: &str) -> QueryResult<Option<UserRecord>> {
    exec::first(conn, users::table.filter(users::email_key.eq(email_key)).select(RECORD_COLUMNS)).optional()
}

/// Disables (`at` > 0) or enables (`at` == 0) the user; `true` if that changed anything. Updating the row
/// also locks it against token rotations until the transaction ends (see `db::tokens`).
pub fn set_disabled_at(conn: &mut DbConn, id: i64, at: i64) -> QueryResult<bool> {
    let target = users::table.find(id);
    let changed = if at == 0 {
        exec::execute(conn, diesel::update(target.filter(users::disabled_at.ne(0))).set(users::disabled_at.eq(0)))?
    } else {
        exec::execute(conn, diesel::update(target.filter(users::disabled_at.eq(0))).set(users::disabled_at.eq(at)))?
    };
    Ok(changed > 0)
}

/// Deletes the user; their tokens, sessions, consents and codes go with it (`ON DELETE CASCADE`).
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    exec::execute(conn, diesel::delete(users::table.find(id)))
}
