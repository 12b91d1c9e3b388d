//! Running a statement, written once, on the concrete connection inside a [`DbConn`].
//!
//! The derived `DbConn` renders a statement's SQL text again on every execution, twice, even when diesel
//! runs it from its prepared-statement cache: measured with callgrind on a cached `GET /items/<id>/`, the
//! query layer took 38 000 instructions instead of 11 000, the whole request 112 700 instead of 89 000
//! (BENCHMARKS.md). Executing through these functions keeps one statement per query, built once, and hands
//! it to the backend's own connection, where the cache does its job. Transactions, migrations and
//! `batch_execute` go through `DbConn` itself.
//!
//! ```ignore
//! let item = exec::first(conn, items::table.filter(items::id.eq(id)).select(ItemRow::as_select())).optional()?;
//! ```

use diesel::dsl::Limit;
use diesel::pg::PgConnection;
use diesel::query_dsl::methods::{ExecuteDsl, LimitDsl};
use diesel::query_dsl::LoadQuery;
use diesel::sqlite::SqliteConnection;
use diesel::{QueryResult, RunQueryDsl};

use super::DbConn;

/// `query.load(conn)`: every row.
pub fn load<'q, Q, U>(conn: &mut DbConn, query: Q) -> QueryResult<Vec<U>>
where
    Q: RunQueryDsl<SqliteConnection> + RunQueryDsl<PgConnection>,
    Q: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
{
    match conn {
        DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::load(query, c),
        DbConn::Postgres(c) => RunQueryDsl::<PgConnection>::load(query, c),
    }
}

/// `query.get_result(conn)`: exactly one row (an `INSERT ... RETURNING`, a count).
pub fn get_result<'q, Q, U>(conn: &mut DbConn, query: Q) -> QueryResult<U>
where
    Q: RunQueryDsl<SqliteConnection> + RunQueryDsl<PgConnection>,
    Q: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
{
    match conn {
        DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::get_result(query, c),
        DbConn::Postgres(c) => RunQueryDsl::<PgConnection>::get_result(query, c),
    }
}

/// `query.first(conn)`: the first row (`NotFound` without one; `.optional()` turns that into `None`).
pub fn first<'q, Q, U>(conn: &mut DbConn, query: Q) -> QueryResult<U>
where
    Q: RunQueryDsl<SqliteConnection> + RunQueryDsl<PgConnection> + LimitDsl,
    Limit<Q>: LoadQuery<'q, SqliteConnection, U> + LoadQuery<'q, PgConnection, U>,
{
    match conn {
        DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::first(query, c),
        DbConn::Postgres(c) => RunQueryDsl::<PgConnection>::first(query, c),
    }
}

/// `statement.execute(conn)`: rows affected.
pub fn execute<Q>(conn: &mut DbConn, statement: Q) -> QueryResult<usize>
where
    Q: RunQueryDsl<SqliteConnection> + RunQueryDsl<PgConnection>,
    Q: ExecuteDsl<SqliteConnection> + ExecuteDsl<PgConnection>,
{
    match conn {
        DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::execute(statement, c),
        DbConn::Postgres(c) => RunQueryDsl::<PgConnection>::execute(statement, c),
    }
}
