//! The revocation log: events appended in the transaction that ends the tokens, read by id.
//!
//! A reader resumes after the last id it saw, so ids must become visible in increasing order. SQLite's one
//! writer gives that for free. On PostgreSQL a sequence hands out ids when rows are inserted, not when they
//! commit: two transactions could commit ids 11 then 10, and a reader that saw 11 would never see 10.
//! Appends therefore take a transaction-scoped advisory lock first, held until commit, so that one append
//! commits before the next takes its id. Revocations are rare next to token issuance and the lock is taken
//! last in its transaction, so it serializes only the commit of appends, nothing else.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use shared_core::db::{exec, DbConn};
use shared_core::revocation::RevocationEvent;

use super::schema::revocation_events;

/// The PostgreSQL channel that `append` notifies, and the instances listen on.
pub const CHANNEL: &str = "revocation_events";
/// The advisory lock key that orders appends ("revocations" in ASCII, a number no other lock here uses).
const APPEND_LOCK: i64 = 0x7265_766f_6b65;

#[derive(Insertable)]
#[diesel(table_name = revocation_events)]
struct NewEvent<'a> {
    created_at: i64,
    event: &'a str,
}

/// Appends `event` to the log (in the caller's transaction) and returns its id. On PostgreSQL every
/// instance listening on [`CHANNEL`] is told when the transaction commits.
pub fn append(conn: &mut DbConn, event: &RevocationEvent, now: i64) -> QueryResult<i64> {
    let json = serde_json::to_string(event).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(APPEND_LOCK).execute(pg)?;
    }
    let id = exec::get_result(
        conn,
        diesel::insert_into(revocation_events::table)
            .values(&NewEvent { created_at: now, event: &json })
            .returning(revocation_events::id),
    )?;
    if let DbConn::Postgres(pg) = conn {
        // Delivered at commit, to every session listening (this instance's own listener included).
        diesel::sql_query(format!("NOTIFY {CHANNEL}")).execute(pg)?;
    }
    Ok(id)
}

/// Up to `limit` events after `after`, in id order; an event whose text no longer parses is skipped.
pub fn since(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<(i64, RevocationEvent)>> {
    let rows: Vec<(i64, String)> = exec::load(
        conn,
        revocation_events::table
            .filter(revocation_events::id.gt(after))
            .order(revocation_events::id.asc())
            .select((revocation_events::id, revocation_events::event))
            .limit(limit),
    )?;
    Ok(rows.into_iter().filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?))).collect())
}

/// The lowest and highest ids in the log (`None` when it is empty).
pub fn bounds(conn: &mut DbConn) -> QueryResult<Option<(i64, i64)>> {
    let (low, high): (Option<i64>, Option<i64>) = exec::get_result(
        conn,
        revocation_events::table
            .select((diesel::dsl::min(revocation_events::id), diesel::dsl::max(revocation_events::id))),
    )?;
    Ok(low.zip(high))
}

/// Deletes up to `batch` events created before `before`, never the newest one: it tells a reader coming back
/// where the log stands. Returns how many went.
pub fn prune(conn: &mut DbConn, before: i64, batch: i64) -> QueryResult<usize> {
    let Some((_, newest)) = bounds(conn)? else { return Ok(0) };
    let ids: Vec<i64> = exec::load(
        conn,
        revocation_events::table
            .filter(revocation_events::created_at.lt(before))
            .filter(revocation_events::id.lt(newest))
            .select(revocation_events::id)
            .limit(batch),
    )?;
    if ids.is_empty() {
        return Ok(0);
    }
    exec::execute(conn, diesel::delete(revocation_events::table.filter(revocation_events::id.eq_any(&ids))))
}
