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
}

/// The columns a [`User`] is read from.
// Read through a column tuple rather than `as_select()`, whose type is tied to one backend: statements run on
// the concrete connection (see `shared_core::db::exec`).
const USER_COLUMNS: (users::id, users::subject, users::email, users::password_hash) =
    (users::id, users::subject, users::email, users::password_hash);

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
