//! Resource rows: the APIs tokens may be minted for (RFC 8707), by their identifier.

use diesel::prelude::*;
use shared_core::db::{exec, is_unique_violation, DbConn};

use super::schema::resources;

#[derive(Debug, Clone, Queryable)]
pub struct ResourceRow {
    pub id: i64,
    pub identifier: String,
    pub name: String,
    /// Space-separated: the scopes a token for it may carry.
    pub scopes: String,
    pub created_at: i64,
}

const RESOURCE_COLUMNS: (
    resources::id,
    resources::identifier,
    resources::name,
    resources::scopes,
    resources::created_at,
) = (resources::id, resources::identifier, resources::name, resources::scopes, resources::created_at);

#[derive(Insertable)]
#[diesel(table_name = resources)]
pub struct NewResource<'a> {
    pub identifier: &'a str,
    pub name: &'a str,
    pub scopes: &'a str,
    pub created_at: i64,
}

pub fn find(conn: &mut DbConn, identifier: &str) -> QueryResult<Option<ResourceRow>> {
    exec::first(conn, resources::table.filter(resources::identifier.eq(identifier)).select(RESOURCE_COLUMNS)).optional()
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<ResourceRow>> {
    exec::load(conn, resources::table.order(resources::identifier).select(RESOURCE_COLUMNS))
}

/// `Ok(false)` when the identifier is taken.
pub fn insert(conn: &mut DbConn, resource: &NewResource<'_>) -> QueryResult<bool> {
    match exec::execute(conn, diesel::insert_into(resources::table).values(resource)) {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sets the name and scopes of an existing resource; the number of rows changed.
pub fn update(conn: &mut DbConn, identifier: &str, name: &str, scopes: &str) -> QueryResult<usize> {
    exec::execute(
        conn,
        diesel::update(resources::table.filter(resources::identifier.eq(identifier)))
            .set((resources::name.eq(name), resources::scopes.eq(scopes))),
    )
}

pub fn delete(conn: &mut DbConn, identifier: &str) -> QueryResult<usize> {
    exec::execute(conn, diesel::delete(resources::table.filter(resources::identifier.eq(identifier))))
}
