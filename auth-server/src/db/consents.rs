//! What each user allowed each client, remembered so that the consent page is shown again only for new
//! scopes.

use diesel::prelude::*;
use diesel::upsert::excluded;
use shared_core::db::{exec, DbConn};

use super::schema::consents;

/// The scopes (space-separated) `user_id` has allowed `client_pk`.
pub fn find(conn: &mut DbConn, user_id: i64, client_pk: i64) -> QueryResult<Option<String>> {
    exec::first(
        conn,
        consents::table
            .filter(consents::user_id.eq(user_id))
            .filter(consents::client_id.eq(client_pk))
            .select(consents::scope),
    )
    .optional()
}

/// Records that `user_id` allowed `client_pk` `scope` (all it allowed so far, space-separated).
pub fn save(conn: &mut DbConn, user_id: i64, client_pk: i64, scope: &str, now: i64) -> QueryResult<usize> {
    let row = (
        consents::user_id.eq(user_id),
        consents::client_id.eq(client_pk),
        consents::scope.eq(scope),
        consents::granted_at.eq(now),
    );
    // The same SQL on both backends, but diesel's derived multi-backend has no `ON CONFLICT` (see
    // `shared_core::db::conn`), so the statement is built for each concrete backend.
    macro_rules! upsert_on {
        ($c:expr) => {
            diesel::insert_into(consents::table)
                .values(row)
                .on_conflict((consents::user_id, consents::client_id))
                .do_update()
                .set((
                    consents::scope.eq(excluded(consents::scope)),
                    consents::granted_at.eq(excluded(consents::granted_at)),
                ))
                .execute($c)
        };
    }
    match conn {
        DbConn::Postgres(c) => upsert_on!(c),
        DbConn::Sqlite(c) => upsert_on!(c),
    }
}
