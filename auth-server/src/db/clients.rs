//! OAuth client rows. Grant types, scopes, redirect URIs and origins are stored space-separated (none of
//! them can hold a space).

use diesel::prelude::*;
use shared_core::db::{exec, is_unique_violation, DbConn};

use super::schema::clients;

#[derive(Debug, Clone, Queryable)]
pub struct ClientRow {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub grant_types: String,
    pub scopes: String,
    pub created_at: i64,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_origins: String,
    pub skip_consent: bool,
    pub require_pkce: bool,
    /// `opaque` or `jwt` ([`crate::service::registration::AccessTokenFormat`]).
    pub access_token_format: String,
    /// The resources it may ask tokens for, space-separated; empty: any registered one.
    pub audiences: String,
}

/// The columns a [`ClientRow`] is read from.
pub type ClientColumns = (
    clients::id,
    clients::client_id,
    clients::name,
    clients::secret_hash,
    clients::grant_types,
    clients::scopes,
    clients::created_at,
    clients::redirect_uris,
    clients::post_logout_redirect_uris,
    clients::allowed_origins,
    clients::skip_consent,
    clients::require_pkce,
    clients::access_token_format,
    clients::audiences,
);
// Read through a column tuple rather than `as_select()`, whose type is tied to one backend: statements run on
// the concrete connection (see `shared_core::db::exec`).
pub const CLIENT_COLUMNS: ClientColumns = (
    clients::id,
    clients::client_id,
    clients::name,
    clients::secret_hash,
    clients::grant_types,
    clients::scopes,
    clients::created_at,
    clients::redirect_uris,
    clients::post_logout_redirect_uris,
    clients::allowed_origins,
    clients::skip_consent,
    clients::require_pkce,
    clients::access_token_format,
    clients::audiences,
);

#[derive(Insertable, AsChangeset)]
// Fixed INSERT text, so diesel caches it as a prepared statement (see `tokens::NewAccessToken`).
#[diesel(table_name = clients, treat_none_as_default_value = false)]
pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub secret_hash: Option<&'a str>,
    pub grant_types: &'a str,
    pub scopes: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
    pub redirect_uris: &'a str,
    pub post_logout_redirect_uris: &'a str,
    pub allowed_origins: &'a str,
    pub skip_consent: bool,
    pub require_pkce: bool,
    pub access_token_format: &'a str,
    pub audiences: &'a str,
}

pub fn find_by_client_id(conn: &mut DbConn, client_id: &str) -> QueryResult<Option<ClientRow>> {
    exec::first(conn, clients::table.filter(clients::client_id.eq(client_id)).select(CLIENT_COLUMNS)).optional()
}

/// `Ok(false)` when the client id is taken.
pub fn insert(conn: &mut DbConn, client: &NewClient<'_>) -> QueryResult<bool> {
    match exec::execute(conn, diesel::insert_into(clients::table).values(client)) {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Overwrites every column but `created_at` (and the secret, when `secret_hash` is the stored one).
pub fn update(conn: &mut DbConn, client: &NewClient<'_>) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(clients::table.filter(clients::client_id.eq(client.client_id))).set((
            clients::name.eq(client.name),
            clients::secret_hash.eq(client.secret_hash),
            clients::grant_types.eq(client.grant_types),
            clients::scopes.eq(client.scopes),
            clients::updated_at.eq(client.updated_at),
            clients::redirect_uris.eq(client.redirect_uris),
            clients::post_logout_redirect_uris.eq(client.post_logout_redirect_uris),
            clients::allowed_origins.eq(client.allowed_origins),
            clients::skip_consent.eq(client.skip_consent),
            clients::require_pkce.eq(client.require_pkce),
            clients::access_token_format.eq(client.access_token_format),
            clients::audiences.eq(client.audiences),
        )),
    )
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<ClientRow>> {
    exec::load(conn, clients::table.order(clients::id).select(CLIENT_COLUMNS))
}

/// Deletes the client; its tokens go with it (`ON DELETE CASCADE`).
pub fn delete(conn: &mut DbConn, client_id: &str) -> QueryResult<usize> {
    exec::execute(conn, diesel::delete(clients::table.filter(clients::client_id.eq(client_id))))
}

pub fn set_secret_hash(conn: &mut DbConn, client_id: &str, hash: &str, now: i64) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(clients::table.filter(clients::client_id.eq(client_id)))
            .set((clients::secret_hash.eq(hash), clients::updated_at.eq(now))),
    )
}
