//! Queries on `blacklist`: record a revoked token id, look one up, list, purge.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::blacklist;
use super::DbConnection;

/// One revoked token.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = blacklist)]
pub struct Entry {
    pub jti: String,
    pub username: String,
    pub expires_at: PrimitiveDateTime,
    pub blacklisted_at: PrimitiveDateTime,
}

/// Records the entry; a second call for the same `jti` changes nothing. Returns rows added.
pub fn insert_ignore(conn: &mut DbConnection, entry: &Entry) -> QueryResult<usize> {
    diesel::insert_into(blacklist::table)
        .values(entry)
        .on_conflict_do_nothing()
        .execute(conn)
}

pub fn contains(conn: &mut DbConnection, jti: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(blacklist::table.find(jti))).get_result(conn)
}

/// A page of entries, newest first with ties broken by `jti`, and the total count.
pub fn page(conn: &mut DbConnection, limit: i64, offset: i64) -> QueryResult<(Vec<Entry>, i64)> {
    conn.transaction(|conn| {
        let items = blacklist::table
            .select(Entry::as_select())
            .order((blacklist::blacklisted_at.desc(), blacklist::jti.asc()))
            .limit(limit)
            .offset(offset)
            .load(conn)?;
        let total = blacklist::table.count().get_result(conn)?;
        Ok((items, total))
    })
}

/// Deletes entries whose `expires_at` is before `cutoff`, `batch` rows per statement so that no
/// single statement holds a long lock. The caller puts the validator's leeway into `cutoff`.
/// Safe to run from several instances at once: a row deleted by another is simply not counted.
pub fn purge_expired(
    conn: &mut DbConnection,
    cutoff: PrimitiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    let mut purged = 0;
    loop {
        let doomed: Vec<String> = blacklist::table
            .select(blacklist::jti)
            .filter(blacklist::expires_at.lt(cutoff))
            .order(blacklist::expires_at.asc())
            .limit(batch)
            .load(conn)?;
        if doomed.is_empty() {
            return Ok(purged);
        }
        purged += diesel::delete(blacklist::table.filter(blacklist::jti.eq_any(&doomed)))
            .execute(conn)?;
        if (doomed.len() as i64) < batch {
            return Ok(purged);
        }
    }
}
