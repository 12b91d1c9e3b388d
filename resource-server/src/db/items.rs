//! Item rows, always read together with their owner's email (one indexed query).

use diesel::prelude::*;
use shared_core::db::{exec, is_unique_violation, DbConn};
use shared_core::Price;

use super::schema::{items, users};

#[derive(Debug, Clone, Queryable)]
pub struct ItemRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub user_id: i64,
    pub owner_email: String,
}

/// The writable fields of an item, validated.
#[derive(Debug, Clone)]
pub struct ItemValues {
    pub name: String,
    pub description: String,
    pub price: Price,
}

/// Storing failed because another item has this name (possibly inserted a moment ago by a racing request).
#[derive(Debug)]
pub struct NameTaken;

macro_rules! item_columns {
    () => {
        (items::id, items::name, items::description, items::price_cents, items::user_id, users::email)
    };
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ItemRow>> {
    exec::first(conn, items::table.inner_join(users::table).filter(items::id.eq(id)).select(item_columns!())).optional()
}

/// A page in id order, and how many items there are in all, read in one statement (one round trip, one
/// snapshot): the count is an uncorrelated subquery, computed once per statement. A page past the end
/// has no row to carry it, so only then is it counted apart.
pub fn page_and_total(conn: &mut DbConn, limit: i64, offset: i64) -> QueryResult<(Vec<ItemRow>, i64)> {
    let every_item = diesel::alias!(items as every_item);
    let total_items = every_item.count().single_value().assume_not_null();
    let rows: Vec<(ItemRow, i64)> = exec::load(
        conn,
        items::table
            .inner_join(users::table)
            .order(items::id)
            .limit(limit)
            .offset(offset)
            .select((item_columns!(), total_items)),
    )?;
    let total = match rows.first() {
        Some((_, total)) => *total,
        None if offset == 0 => 0,
        None => exec::get_result(conn, items::table.count())?,
    };
    Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
}

fn unique_violation_is_name<T>(result: QueryResult<T>) -> QueryResult<Result<T, NameTaken>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) if is_unique_violation(&e) => Ok(Err(NameTaken)),
        Err(e) => Err(e),
    }
}

pub fn insert(conn: &mut DbConn, owner: i64, values: &ItemValues, now: i64) -> QueryResult<Result<i64, NameTaken>> {
    let inserted = exec::get_result::<_, i64>(
        conn,
        diesel::insert_into(items::table)
            .values((
                items::name.eq(&values.name),
                items::description.eq(&values.description),
                items::price_cents.eq(values.price.cents()),
                items::user_id.eq(owner),
                items::created_at.eq(now),
                items::updated_at.eq(now),
            ))
            .returning(items::id),
    );
    unique_violation_is_name(inserted)
}

/// Updates the item if `owner` still owns it; `Ok(Ok(false))` when it is gone or changed hands.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    owner: i64,
    values: &ItemValues,
    now: i64,
) -> QueryResult<Result<bool, NameTaken>> {
    let updated = exec::execute(
        conn,
        diesel::update(items::table.filter(items::id.eq(id)).filter(items::user_id.eq(owner))).set((
            items::name.eq(&values.name),
            items::description.eq(&values.description),
            items::price_cents.eq(values.price.cents()),
            items::updated_at.eq(now),
        )),
    );
    unique_violation_is_name(updated.map(|n| n == 1))
}

/// Deletes the item if `owner` owns it.
pub fn delete(conn: &mut DbConn, id: i64, owner: i64) -> QueryResult<bool> {
    exec::execute(conn, diesel::delete(items::table.filter(items::id.eq(id)).filter(items::user_id.eq(owner))))
        .map(|n| n == 1)
}

/// The owner of an item, to tell 404 from 403.
pub fn owner_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<i64>> {
    exec::first(conn, items::table.find(id).select(items::user_id)).optional()
}
