//! The OpenID Connect signing keys. The private key is kept as PKCS#8 PEM and leaves this table only to be
//! loaded into the signer; it is never logged or answered.

use diesel::prelude::*;
use shared_core::db::{exec, DbConn};

use super::schema::signing_keys;

#[derive(Clone, Queryable)]
pub struct KeyRow {
    pub kid: String,
    pub algorithm: String,
    pub private_key_pem: String,
    pub public_jwk: String,
    pub created_at: i64,
    pub superseded_at: Option<i64>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("superseded_at", &self.superseded_at)
            .finish_non_exhaustive()
    }
}

const KEY_COLUMNS: (
    signing_keys::kid,
    signing_keys::algorithm,
    signing_keys::private_key_pem,
    signing_keys::public_jwk,
    signing_keys::created_at,
    signing_keys::superseded_at,
) = (
    signing_keys::kid,
    signing_keys::algorithm,
    signing_keys::private_key_pem,
    signing_keys::public_jwk,
    signing_keys::created_at,
    signing_keys::superseded_at,
);

#[derive(Insertable)]
#[diesel(table_name = signing_keys, treat_none_as_default_value = false)]
pub struct NewKey<'a> {
    pub kid: &'a str,
    pub algorithm: &'a str,
    pub private_key_pem: &'a str,
    pub public_jwk: &'a str,
    pub created_at: i64,
    pub superseded_at: Option<i64>,
}

/// Every key, newest first.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<KeyRow>> {
    exec::load(conn, signing_keys::table.order(signing_keys::id.desc()).select(KEY_COLUMNS))
}

/// Keys that sign or may still verify what was signed: not superseded, or superseded after `since`.
pub fn published(conn: &mut DbConn, since: i64) -> QueryResult<Vec<KeyRow>> {
    exec::load(
        conn,
        signing_keys::table
            .filter(signing_keys::superseded_at.is_null().or(signing_keys::superseded_at.gt(since)))
            .order(signing_keys::id.desc())
            .select(KEY_COLUMNS),
    )
}

pub fn insert(conn: &mut DbConn, key: &NewKey<'_>) -> QueryResult<usize> {
    exec::execute(conn, diesel::insert_into(signing_keys::table).values(key))
}

/// Marks every signing key but `kid` as superseded at `now`; they stay published for verification.
pub fn supersede_all_but(conn: &mut DbConn, kid: &str, now: i64) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(
            signing_keys::table.filter(signing_keys::kid.ne(kid)).filter(signing_keys::superseded_at.is_null()),
        )
        .set(signing_keys::superseded_at.eq(now)),
    )
}
