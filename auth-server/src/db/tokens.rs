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

/// The digests of the revoked rows that were still unexpired: what a resource server may still trust.
fn unexpired(rows: Vec<(String, i64)>, now: i64) -> Vec<String> {
    rows.into_iter().filter(|(_, expires_at)| *expires_at > now).map(|(hash, _)| hash).collect()
}

/// Revokes the access tokens issued with any of `refresh_ids`; returns the digests of the unexpired ones.
fn revoke_access_issued_with(conn: &mut DbConn, refresh_ids: &[i64], now: i64) -> QueryResult<Vec<String>> {
    let rows = exec::load(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::refresh_token_id.eq_any(refresh_ids))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now))
        .returning((access_tokens::token_hash, access_tokens::expires_at)),
    )?;
    Ok(unexpired(rows, now))
}

/// Revokes the access tokens issued with this refresh token; returns the digests of the unexpired ones.
pub fn revoke_access_of_refresh(conn: &mut DbConn, refresh_id: i64, now: i64) -> QueryResult<Vec<String>> {
    revoke_access_issued_with(conn, &[refresh_id], now)
}

// Refresh-token families and users under concurrency (PostgreSQL; SQLite's single writer runs one write at a
// time). Revoking a family or all of a user's tokens updates the rows its statement sees; a rotation that
// commits a new refresh token meanwhile would leave that token live, since at READ COMMITTED the new row is
// in neither the revoking statement's snapshot nor locked by it. Row locks on the user close the gap at no
// cost to anything else: every refresh token belongs to a user, a rotation takes the user's row FOR SHARE
// before it retires the old token (rotations of one user still run side by side), and a revocation takes it
// FOR NO KEY UPDATE (a password change, by updating it) before it touches tokens. (NO KEY: inserts of new
// tokens for the user, whose foreign-key checks take FOR KEY SHARE, are not held up.) Whichever comes second waits for
// the first to commit, then sees what it did: the revocation sees the rotated token and revokes it, or the
// rotation finds its token already revoked. Both take the user's lock first, so they cannot deadlock.

/// Before a rotation: share-locks the user of the refresh token with this digest (PostgreSQL only).
pub fn lock_refresh_owner_for_rotation(conn: &mut DbConn, token_hash: &str) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query(
            "SELECT id FROM users WHERE id IN (SELECT user_id FROM refresh_tokens WHERE token_hash = $1) FOR SHARE",
        )
        .bind::<diesel::sql_types::Text, _>(token_hash)
        .execute(pg)?;
    }
    Ok(())
}

/// Before revoking a family: locks its user's row against rotations (PostgreSQL only).
fn lock_family_owner(conn: &mut DbConn, family_id: &str) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query(
            "SELECT id FROM users WHERE id IN (SELECT user_id FROM refresh_tokens WHERE family_id = $1) FOR NO KEY UPDATE",
        )
        .bind::<diesel::sql_types::Text, _>(family_id)
        .execute(pg)?;
    }
    Ok(())
}

/// Before revoking a user's tokens: locks the user's row against rotations (PostgreSQL only).
fn lock_user(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(user_id)
            .execute(pg)?;
    }
    Ok(())
}

/// Revokes every refresh token of a family (RFC 9700 §4.14.2 reuse detection) and their access tokens;
/// returns the digests of the access tokens that were unexpired.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: i64) -> QueryResult<Vec<String>> {
    lock_family_owner(conn, family_id)?;
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
    revoke_access_issued_with(conn, &ids, now)
}

/// Revokes every access token issued for the authorization code `code_id`; returns the digests of the
/// unexpired ones.
pub fn revoke_access_of_code(conn: &mut DbConn, code_id: i64, now: i64) -> QueryResult<Vec<String>> {
    let rows = exec::load(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::authorization_code_id.eq(code_id))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now))
        .returning((access_tokens::token_hash, access_tokens::expires_at)),
    )?;
    Ok(unexpired(rows, now))
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
/// Returns the digests of the access tokens it revoked that were issued in the second `now` (see
/// `RevocationEvent::User`).
pub fn revoke_user_tokens_except(
    conn: &mut DbConn,
    user_id: i64,
    keep_access_id: i64,
    now: i64,
) -> QueryResult<Vec<String>> {
    lock_user(conn, user_id)?;
    exec::execute(
        conn,
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(user_id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now)),
    )?;
    exec::load(
        conn,
        diesel::update(
            access_tokens::table
                .filter(access_tokens::user_id.eq(user_id))
                .filter(access_tokens::id.ne(keep_access_id))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(now))
        .returning((access_tokens::token_hash, access_tokens::issued_at)),
    )
    .map(|rows: Vec<(String, i64)>| {
        rows.into_iter().filter(|(_, issued_at)| *issued_at >= now).map(|(h, _)| h).collect()
    })
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
