//! Filling the view from the blacklist table: all of it at start, chunk by chunk so that memory
//! holds one chunk of rows at a time, and the recent part of it after the listener was away.

use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use super::purge_cutoff;
use super::view::{Entry, View};
use crate::db::blacklist::{self, Live};
use crate::db::{from_db_time, to_db_time, DbConnection};

const CHUNK: i64 = 20_000;

/// How far before the last confirmed instant the catch-up looks: a revocation is stamped when
/// it is queued and commits moments later, and instances' clocks may differ; both are far below
/// this margin, and the query stays cheap (an index range on `blacklisted_at`).
pub const CATCH_UP_MARGIN: time::Duration = time::Duration::minutes(5);

fn entry(jti: &str, expires_at: PrimitiveDateTime) -> Option<Entry> {
    // A row whose id is not a UUID cannot match any token we accept: nothing to keep.
    let jti = Uuid::parse_str(jti).ok()?;
    let exp = from_db_time(expires_at).unix_timestamp();
    Some(Entry::Token { jti, exp })
}

/// Loads every entry still in force at `now`; returns how many.
pub fn everything(
    conn: &mut DbConnection,
    view: &View,
    now: OffsetDateTime,
) -> diesel::QueryResult<usize> {
    let mut loaded = 0;
    blacklist::for_each_live_chunk(conn, to_db_time(purge_cutoff(now)), CHUNK, |rows| {
        loaded += apply(view, &rows);
    })?;
    Ok(loaded)
}

/// Loads the entries recorded since `confirmed` (minus the margin); returns how many.
pub fn since(
    conn: &mut DbConnection,
    view: &View,
    confirmed: OffsetDateTime,
) -> diesel::QueryResult<usize> {
    let rows = blacklist::recorded_since(conn, to_db_time(confirmed - CATCH_UP_MARGIN))?;
    Ok(apply(view, &rows))
}

fn apply(view: &View, rows: &[Live]) -> usize {
    rows.iter()
        .filter_map(|row| entry(&row.jti, row.expires_at))
        .map(|e| view.apply(e))
        .count()
}
