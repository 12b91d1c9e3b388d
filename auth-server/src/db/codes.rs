//! Authorization codes, looked up by the SHA-256 digest of the code. A code is used once: the statement
//! that uses it also marks it used, so of two concurrent exchanges exactly one wins.

use diesel::prelude::*;
use shared_core::db::{exec, DbConn};

use super::schema::authorization_codes;

#[derive(Debug, Clone, Queryable)]
pub struct CodeRow {
    pub id: i64,
    pub client_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub family_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const CODE_COLUMNS: (
    authorization_codes::id,
    authorization_codes::client_id,
    authorization_codes::user_id,
    authorization_codes::redirect_uri,
    authorization_codes::scope,
    authorization_codes::nonce,
    authorization_codes::code_challenge,
    authorization_codes::auth_time,
    authorization_codes::family_id,
    authorization_codes::expires_at,
    authorization_codes::used_at,
) = (
    authorization_codes::id,
    authorization_codes::client_id,
    authorization_codes::user_id,
    authorization_codes::redirect_uri,
    authorization_codes::scope,
    authorization_codes::nonce,
    authorization_codes::code_challenge,
    authorization_codes::auth_time,
    authorization_codes::family_id,
    authorization_codes::expires_at,
    authorization_codes::used_at,
);

#[derive(Insertable)]
#[diesel(table_name = authorization_codes, treat_none_as_default_value = false)]
pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub client_id: i64,
    pub user_id: i64,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub auth_time: i64,
    pub family_id: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, code: &NewCode<'_>) -> QueryResult<usize> {
    exec::execute(conn, diesel::insert_into(authorization_codes::table).values(code))
}

/// Marks the live, unused code of `client_pk` used at `now`; `true` if this call did.
pub fn use_code(conn: &mut DbConn, code_hash: &str, client_pk: i64, now: i64) -> QueryResult<bool> {
    exec::execute(
        conn,
        diesel::update(
            authorization_codes::table
                .filter(authorization_codes::code_hash.eq(code_hash))
                .filter(authorization_codes::client_id.eq(client_pk))
                .filter(authorization_codes::used_at.is_null())
                .filter(authorization_codes::expires_at.gt(now)),
        )
        .set(authorization_codes::used_at.eq(now)),
    )
    .map(|n| n == 1)
}

pub fn find(conn: &mut DbConn, code_hash: &str) -> QueryResult<Option<CodeRow>> {
    exec::first(
        conn,
        authorization_codes::table.filter(authorization_codes::code_hash.eq(code_hash)).select(CODE_COLUMNS),
    )
    .optional()
}

/// Deletes up to `batch` codes past their expiry by more than `keep_used_for` seconds: a used code is kept
/// that long so that its second use is still recognised (and revokes what it issued).
pub fn delete_expired(conn: &mut DbConn, now: i64, keep_used_for: i64, batch: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = exec::load(
        conn,
        authorization_codes::table
            .filter(authorization_codes::expires_at.le(now - keep_used_for))
            .select(authorization_codes::id)
            .limit(batch),
    )?;
    if ids.is_empty() {
        return Ok(0);
    }
    exec::execute(conn, diesel::delete(authorization_codes::table.filter(authorization_codes::id.eq_any(&ids))))
}

/// Deletes every code of a user, used or not (the user was disabled): none can be exchanged any more.
pub fn delete_for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    exec::execute(conn, diesel::delete(authorization_codes::table.filter(authorization_codes::user_id.eq(user_id))))
}
