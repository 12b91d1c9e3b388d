//! Browser sign-in sessions, looked up by the SHA-256 digest of the cookie's value (never stored itself).

use diesel::prelude::*;
use shared_core::db::{exec, DbConn};

use super::schema::{sessions, users};

/// A live session and who it is for.
#[derive(Debug, Clone, Queryable)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub auth_time: i64,
    pub expires_at: i64,
    pub subject: String,
    pub email: String,
}

#[derive(Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct NewSession<'a> {
    pub session_hash: &'a str,
    pub user_id: i64,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut DbConn, session: &NewSession<'_>) -> QueryResult<usize> {
    exec::execute(conn, diesel::insert_into(sessions::table).values(session))
}

/// The session with this digest, if it has not expired at `now`.
pub fn find_live(conn: &mut DbConn, session_hash: &str, now: i64) -> QueryResult<Option<SessionRow>> {
    exec::first(
        conn,
        sessions::table
            .inner_join(users::table)
            .filter(sessions::session_hash.eq(session_hash))
            .filter(sessions::expires_at.gt(now))
            .select((
                sessions::id,
                sessions::user_id,
                sessions::auth_time,
                sessions::expires_at,
                users::subject,
                users::email,
            )),
    )
    .optional()
}

pub fn delete(conn: &mut DbConn, session_hash: &str) -> QueryResult<usize> {
    exec::execute(conn, diesel::delete(sessions::table.filter(sessions::session_hash.eq(session_hash))))
}

/// Ends every session of a user (their password changed).
pub fn delete_for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    exec::execute(conn, diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))))
}

/// Deletes up to `batch` expired sessions (the janitor).
pub fn delete_expired(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let ids: Vec<i64> =
        exec::load(conn, sessions::table.filter(sessions::expires_at.le(now)).select(sessions::id).limit(batch))?;
    if ids.is_empty() {
        return Ok(0);
    }
    exec::execute(conn, diesel::delete(sessions::table.filter(sessions::id.eq_any(&ids))))
}
