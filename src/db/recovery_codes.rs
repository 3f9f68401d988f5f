//! Queries on `recovery_codes`: single-use codes, stored as keyed hashes only. A code is spent
//! by one conditional update, so two requests presenting it cannot both succeed.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::recovery_codes;
use super::DbConnection;

/// Voids every code of the account and stores `hashes` as its new set.
pub fn replace(
    conn: &mut DbConnection,
    user_id: &str,
    hashes: &[String],
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    delete(conn, user_id)?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|h| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(h),
                recovery_codes::created_at.eq(now),
            )
        })
        .collect();
    let insert = diesel::insert_into(recovery_codes::table).values(rows);
    match conn {
        DbConnection::Sqlite(c) => insert.execute(c)?,
        DbConnection::Pg(c) => insert.execute(c)?,
    };
    Ok(())
}

/// Spends the code of hash `hash`: `Ok(true)` only if it was the account's and unused.
pub fn spend(
    conn: &mut DbConnection,
    user_id: &str,
    hash: &str,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(updated > 0)
}

/// How many unused codes the account has.
pub fn left(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)
}
