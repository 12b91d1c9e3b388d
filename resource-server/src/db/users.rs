//! Local mirrors of the auth server's users ("the resource server checks its own database for the user").

use diesel::prelude::*;
use diesel::upsert::excluded;
use shared_core::db::DbConn;
use shared_core::db_run;

use super::schema::users;

/// The local id of the user with this `sub`, creating or refreshing the row. A read first: the write (and
/// on SQLite its lock) is only paid the first time, or when the email changed.
pub fn upsert(conn: &mut DbConn, subject: &str, email: &str, now: i64) -> QueryResult<i64> {
    let existing: Option<(i64, String)> = db_run!(conn, c => users::table
        .filter(users::subject.eq(subject))
        .select((users::id, users::email))
        .first(c)
        .optional())?;
    if let Some((id, known_email)) = existing {
        if known_email == email {
            return Ok(id);
        }
    }
    db_run!(conn, c => diesel::insert_into(users::table)
        .values((users::subject.eq(subject), users::email.eq(email), users::created_at.eq(now)))
        .on_conflict(users::subject)
        .do_update()
        .set(users::email.eq(excluded(users::email)))
        .returning(users::id)
        .get_result(c))
}
