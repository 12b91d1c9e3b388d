//! Access and refresh token rows, looked up by the SHA-256 digest of the token (`token_hash`).
//! State changes are single conditional statements so that they stay correct under concurrency.

use diesel::prelude::*;
use shared_core::db::{exec, DbConn};

use super::clients::ClientRow;
use super::schema::{access_tokens, clients, refresh_tokens, users};

#[derive(Insertable)]
// Every field bound (None as NULL, never DEFAULT) so the INSERT's text is fixed and diesel caches it as a
// prepared statement; with DEFAULT it is re-parsed and re-planned on every call.
#[diesel(table_name = access_tokens, treat_none_as_default_value = false)]
pub struct NewAccessToken<'a> {
    pub token_hash: &'a str,
    pub client_id: i64,
    pub user_id: Option<i64>,
    pub refresh_token_id: Option<i64>,
    pub scope: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The code it was issued for (authorization code flow), so that a replayed code can revoke it.
    pub authorization_code_id: Option<i64>,
    /// The resource it is for (RFC 8707); `None`: the default audience.
    pub audience: Option<&'a str>,
}

#[derive(Insertable)]
// Fixed INSERT text, so diesel caches it as a prepared statement (see `NewAccessToken`).
#[diesel(table_name = refresh_tokens, treat_none_as_default_value = false)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub client_id: i64,
    pub user_id: i64,
    pub family_id: &'a str,
    pub scope: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The resource its access tokens are for, unless a refresh names another.
    pub audience: Option<&'a str>,
}

/// An access token with what introspection reports about it, read in one indexed query.
#[derive(Debug, Clone, Queryable)]
pub struct AccessTokenView {
    pub id: i64,
    pub user_id: Option<i64>,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub client_id: String,
    pub username: Option<String>,
    pub subject: Option<String>,
    pub audience: Option<String>,
}

impl AccessTokenView {
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub client_id: i64,
    pub user_id: i64,
    pub family_id: String,
    pub scope: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub audience: Option<String>,
}

/// The columns a [`RefreshTokenRow`] is read from.
// Read through a column tuple rather than `as_select()`, whose type is tied to one backend: statements run on
// the concrete connection (see `shared_core::db::exec`).
const REFRESH_TOKEN_COLUMNS: (
    refresh_tokens::id,
    refresh_tokens::client_id,
    refresh_tokens::user_id,
    refresh_tokens::family_id,
    refresh_tokens::scope,
    refresh_tokens::expires_at,
    refresh_tokens::revoked_at,
    refresh_tokens::audience,
) = (
    refresh_tokens::id,
    refresh_tokens::client_id,
    refresh_tokens::user_id,
    refresh_tokens::family_id,
    refresh_tokens::scope,
    refresh_tokens::expires_at,
    refresh_tokens::revoked_at,
    refresh_tokens::audience,
);

pub fn insert_access(conn: &mut DbConn, token: &NewAccessToken<'_>) -> QueryResult<()> {
    exec::execute(conn, diesel::insert_into(access_tokens::table).values(token)).map(drop)
}

pub fn insert_refresh(conn: &mut DbConn, token: &NewRefreshToken<'_>) -> QueryResult<i64> {
    exec::get_result(conn, diesel::insert_into(refresh_tokens::table).values(token).returning(refresh_tokens::id))
}

pub fn find_access(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<AccessTokenView>> {
    exec::first(
        conn,
        access_tokens::table
            .inner_join(clients::table)
            .left_join(users::table)
            .filter(access_tokens::token_hash.eq(token_hash))
            .select((
                access_tokens::id,
                access_tokens::user_id,
                access_tokens::scope,
                access_tokens::issued_at,
                access_tokens::expires_at,
                access_tokens::revoked_at,
                clients::client_id,
                users::email.nullable(),
                users::subject.nullable(),
                access_tokens::audience,
            )),
    )
    .optional()
}

pub fn find_refresh(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    exec::first(
        conn,
        refresh_tokens::table.filter(refresh_tokens::token_hash.eq(token_hash)).select(REFRESH_TOKEN_COLUMNS),
    )
    .optional()
}

/// Retires a live refresh token of `client_pk` in one statement; `true` if this call retired it. Of two
/// concurrent refreshes with the same token exactly one wins, the other is a reuse.
pub fn retire_refresh(conn: &mut DbConn, token_hash: &str, client_pk: i64, now: i64) -> QueryResult<bool> {
    exec::execute(
        conn,
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(token_hash))
                .filter(refresh_tokens::client_id.eq(client_pk))
                .filter(refresh_tokens::revoked_at.is_null())
                .filter(refresh_tokens::expires_at.gt(now)),
        )
        .set(refresh_tokens::revoked_at.eq(now)),
    )
    .map(|n| n == 1)
}

/// Revokes the access tokens issued with any of `refresh_ids`.
fn revoke_access_issued_with(conn: &mut DbConn, refresh_ids: &[i64], now: i64) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::refresh_token_id.eq_any(refresh_ids))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now)),
    )
}

/// Revokes the access tokens issued with this refresh token.
pub fn revoke_access_of_refresh(conn: &mut DbConn, refresh_id: i64, now: i64) -> QueryResult<usize> {
    revoke_access_issued_with(conn, &[refresh_id], now)
}

/// Revokes every refresh token of a family (RFC 9700 §4.14.2 reuse detection) and their access tokens.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: i64) -> QueryResult<()> {
    let ids: Vec<i64> = exec::load(
        conn,
        refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id)).select(refresh_tokens::id),
    )?;
    exec::execute(
        conn,
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now)),
    )?;
    revoke_access_issued_with(conn, &ids, now).map(drop)
}

/// Revokes every access token issued for the authorization code `code_id`.
pub fn revoke_access_of_code(conn: &mut DbConn, code_id: i64, now: i64) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::authorization_code_id.eq(code_id))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now)),
    )
}

/// Revokes an access token of `client_pk`; `true` if it was live.
pub fn revoke_access(conn: &mut DbConn, token_hash: &str, client_pk: i64, now: i64) -> QueryResult<bool> {
    exec::execute(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::token_hash.eq(token_hash))
                .filter(access_tokens::client_id.eq(client_pk))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now)),
    )
    .map(|n| n == 1)
}

/// Revokes a refresh token of `client_pk`; returns its id if it belonged to that client.
pub fn revoke_refresh(conn: &mut DbConn, token_hash: &str, client_pk: i64, now: i64) -> QueryResult<Option<i64>> {
    let row: Option<(i64, Option<i64>)> = exec::first(
        conn,
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::client_id.eq(client_pk))
            .select((refresh_tokens::id, refresh_tokens::revoked_at)),
    )
    .optional()?;
    let Some((id, _)) = row else { return Ok(None) };
    exec::execute(
        conn,
        diesel::update(refresh_tokens::table.find(id).filter(refresh_tokens::revoked_at.is_null()))
            .set(refresh_tokens::revoked_at.eq(now)),
    )?;
    Ok(Some(id))
}

/// After a password change: every refresh token of the user, and every access token but `keep_access_id`.
pub fn revoke_user_tokens_except(conn: &mut DbConn, user_id: i64, keep_access_id: i64, now: i64) -> QueryResult<()> {
    exec::execute(
        conn,
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(user_id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now)),
    )?;
    exec::execute(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::user_id.eq(user_id))
                .filter(access_tokens::id.ne(keep_access_id))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now)),
    )
    .map(drop)
}

/// Deletes up to `batch` access tokens that are expired or revoked; returns how many went.
pub fn delete_dead_access_tokens(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = exec::load(
        conn,
        access_tokens::table
            .filter(access_tokens::expires_at.le(now).or(access_tokens::revoked_at.is_not_null()))
            .select(access_tokens::id)
            .limit(batch),
    )?;
    if ids.is_empty() {
        return Ok(0);
    }
    exec::execute(conn, diesel::delete(access_tokens::table.filter(access_tokens::id.eq_any(&ids))))
}

/// Deletes up to `batch` expired refresh tokens. Revoked but unexpired ones stay: presenting one again
/// must still be recognised as reuse and revoke its family.
pub fn delete_expired_refresh_tokens(conn: &mut DbConn, now: i64, batch: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = exec::load(
        conn,
        refresh_tokens::table.filter(refresh_tokens::expires_at.le(now)).select(refresh_tokens::id).limit(batch),
    )?;
    if ids.is_empty() {
        return Ok(0);
    }
    exec::execute(conn, diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(&ids))))
}

/// The caller's client row and the introspected token in one statement (a prepared, cached query):
/// introspection is the auth server's hottest path, and on PostgreSQL every statement is a round trip.
/// `(None, None)` when the caller is unknown (the token is then irrelevant).
pub fn find_caller_and_access(
    conn: &mut DbConn,
    caller_client_id: &str,
    token_hash: &str,
) -> QueryResult<(Option<ClientRow>, Option<AccessTokenView>)> {
    let owner = diesel::alias!(clients as owner);
    type TokenColumns = (
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<(ClientRow, TokenColumns)> = exec::first(
        conn,
        clients::table
            .left_join(access_tokens::table.on(access_tokens::token_hash.eq(token_hash.to_owned())))
            .left_join(owner.on(owner.field(clients::id).eq(access_tokens::client_id)))
            .left_join(users::table.on(users::id.nullable().eq(access_tokens::user_id)))
            .filter(clients::client_id.eq(caller_client_id))
            .select((
                super::clients::CLIENT_COLUMNS,
                (
                    access_tokens::id.nullable(),
                    access_tokens::user_id.nullable(),
                    access_tokens::scope.nullable(),
                    access_tokens::issued_at.nullable(),
                    access_tokens::expires_at.nullable(),
                    access_tokens::revoked_at.nullable(),
                    owner.field(clients::client_id).nullable(),
                    users::email.nullable(),
                    users::subject.nullable(),
                    access_tokens::audience.nullable(),
                ),
            )),
    )
    .optional()?;
    let Some((caller, t)) = row else { return Ok((None, None)) };
    let token = match t {
        (
            Some(id),
            user_id,
            Some(scope),
            Some(issued_at),
            Some(expires_at),
            revoked_at,
            Some(client_id),
            username,
            subject,
            audience,
        ) => Some(AccessTokenView {
            id,
            user_id,
            scope,
            issued_at,
            expires_at,
            revoked_at,
            client_id,
            username,
            subject,
            audience,
        }),
        _ => None,
    };
    Ok((Some(caller), token))
}
