//! Local mirrors of the auth server's users ("the resource server checks its own database for the user").

use diesel::prelude::*;
use diesel::upsert::excluded;
use shared_core::db::{exec, DbConn};

use super::schema::users;

/// The local id of the user with this `sub`, creating or refreshing the row. A read first: the write (and
/// on SQLite its lock) is only paid the first time, or when the email changed.
pub fn upsert(conn: &mut DbConn, subject: &str, email: &str, now: i64) -> QueryResult<i64> {
    if let Some((id, known_email)) = find(conn, subject)? {
        if known_email == email {
            return Ok(id);
        }
    }
    let row = (users::subject.eq(subject), users::email.eq(email), users::created_at.eq(now));
    // The same SQL on both backends, but diesel's derived multi-backend has no `ON CONFLICT` (it covers only
    // what every backend it could combine supports), so the statement is built for each concrete backend.
    macro_rules! upsert_on {
        ($c:expr) => {
            diesel::insert_into(users::table)
                .values(row)
                .on_conflict(users::subject)
                .do_update()
                .set(users::email.eq(excluded(users::email)))
                .returning(users::id)
                .get_result($c)
        };
    }
    match conn {
        DbConn::Postgres(c) => upsert_on!(c),
        DbConn::Sqlite(c) => upsert_on!(c),
    }
}

/// The local id and displayed name of the user with this `sub`.
pub fn find(conn: &mut DbConn, subject: &str) -> QueryResult<Option<(i64, String)>> {
    exec::first(conn, users::table.filter(users::subject.eq(subject)).select((users::id, users::email))).optional()
}

/// The user with this `sub`, created with the `sub` as its displayed name when absent; an existing row
/// (perhaps named by an introspection answer's username) is left as it is.
pub fn insert_if_absent(conn: &mut DbConn, subject: &str, now: i64) -> QueryResult<(i64, String)> {
    let row = (users::subject.eq(subject), users::email.eq(subject), users::created_at.eq(now));
    macro_rules! insert_on {
        ($c:expr) => {
            diesel::insert_into(users::table).values(row).on_conflict(users::subject).do_nothing().execute($c)
        };
    }
    match conn {
        DbConn::Postgres(c) => insert_on!(c)?,
        DbConn::Sqlite(c) => insert_on!(c)?,
    };
    find(conn, subject)?.ok_or(diesel::result::Error::NotFound)
}
