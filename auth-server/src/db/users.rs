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
) = (
    users::id,
    users::subject,
    users::email,
    users::password_hash,
    users::failed_logins,
    users::locked_until,
    users::lockouts,
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
