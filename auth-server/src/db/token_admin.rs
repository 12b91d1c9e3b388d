//! What only the admin CLI asks of the token tables: whose a token is, found by its digest alone (no
//! client presents it), and how many live tokens a user has.

use diesel::prelude::*;
use shared_core::db::{exec, DbConn};

use super::schema::{access_tokens, clients, refresh_tokens};

/// Which table a token is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Whose a token is, and whether it was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub kind: TokenKind,
    pub client_pk: i64,
    pub client_id: String,
    pub revoked: bool,
}

/// The token with this digest (an access token, else a refresh token), if it is known.
pub fn find_owner(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<TokenOwner>> {
    let owner = |kind, (client_pk, client_id, revoked_at): (i64, String, Option<i64>)| TokenOwner {
        kind,
        client_pk,
        client_id,
        revoked: revoked_at.is_some(),
    };
    let access = exec::first(
        conn,
        access_tokens::table.inner_join(clients::table).filter(access_tokens::token_hash.eq(token_hash)).select((
            clients::id,
            clients::client_id,
            access_tokens::revoked_at,
        )),
    )
    .optional()?;
    if let Some(row) = access {
        return Ok(Some(owner(TokenKind::Access, row)));
    }
    let refresh = exec::first(
        conn,
        refresh_tokens::table.inner_join(clients::table).filter(refresh_tokens::token_hash.eq(token_hash)).select((
            clients::id,
            clients::client_id,
            refresh_tokens::revoked_at,
        )),
    )
    .optional()?;
    Ok(refresh.map(|row| owner(TokenKind::Refresh, row)))
}

/// The user's unrevoked, unexpired access and refresh tokens at `now`.
pub fn count_live(conn: &mut DbConn, user_id: i64, now: i64) -> QueryResult<(i64, i64)> {
    let access = exec::first(
        conn,
        access_tokens::table
            .filter(access_tokens::user_id.eq(user_id))
            .filter(access_tokens::revoked_at.is_null())
            .filter(access_tokens::expires_at.gt(now))
            .count(),
    )?;
    let refresh = exec::first(
        conn,
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now))
            .count(),
    )?;
    Ok((access, refresh))
}
