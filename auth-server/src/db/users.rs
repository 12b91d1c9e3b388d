//! User rows.

use diesel::prelude::*;
use shared_core::db::{is_unique_violation, DbConn};

use super::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub subject: String,
    pub email: String,
    pub password_hash: String,
}

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
    let inserted = diesel::insert_into(users::table).values(user).execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find_by_email_key(conn: &mut DbConn, email_key: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::email_key.eq(email_key)).select(User::as_select()).first(conn).optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).optional()
}

pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str, now: i64) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::password_changed_at.eq(now)))
        .execute(conn)
}
