//! Filling the view from the database: the blacklist (chunk by chunk, so that memory holds one
//! chunk of rows at a time), ended sessions and per-user cut-offs; all of it at start, and the
//! recent part of it after the listener was away.

use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use super::purge_cutoff;
use super::view::{Entry, View};
use crate::db::blacklist::{self, Live};
use crate::db::sessions::{self, Ended};
use crate::db::user_cutoffs::{self, Cutoff};
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
    let live_at = to_db_time(purge_cutoff(now));
    let mut loaded = 0;
    blacklist::for_each_live_chunk(conn, live_at, CHUNK, |rows| {
        loaded += apply(view, &rows);
    })?;
    loaded += apply_sessions(view, &sessions::ended(conn, live_at, None)?);
    loaded += apply_cutoffs(view, &user_cutoffs::cutoffs(conn, live_at, None)?);
    Ok(loaded)
}

/// Loads the entries recorded since `confirmed` (minus the margin); returns how many.
pub fn since(
    conn: &mut DbConnection,
    view: &View,
    confirmed: OffsetDateTime,
) -> diesel::QueryResult<usize> {
    let from = to_db_time(confirmed - CATCH_UP_MARGIN);
    let live_at = to_db_time(purge_cutoff(OffsetDateTime::now_utc()));
    let rows = blacklist::recorded_since(conn, from)?;
    Ok(apply(view, &rows)
        + apply_sessions(view, &sessions::ended(conn, live_at, Some(from))?)
        + apply_cutoffs(view, &user_cutoffs::cutoffs(conn, live_at, Some(from))?))
}

fn apply_sessions(view: &View, rows: &[Ended]) -> usize {
    rows.iter()
        .filter_map(|row| {
            let sid = Uuid::parse_str(&row.id).ok()?;
            let exp = from_db_time(row.access_until).unix_timestamp();
            Some(Entry::Session { sid, exp })
        })
        .map(|e| view.apply(e))
        .count()
}

fn apply_cutoffs(view: &View, rows: &[Cutoff]) -> usize {
    rows.iter()
        .filter_map(|row| {
            Some(Entry::UserCutoff {
                username: row.username.as_str().into(),
                issued_before: Uuid::parse_str(&row.cutoff).ok()?,
                exp: from_db_time(row.kept_until).unix_timestamp(),
            })
        })
        .map(|e| view.apply(e))
        .count()
}

fn apply(view: &View, rows: &[Live]) -> usize {
    rows.iter()
        .filter_map(|row| entry(&row.jti, row.expires_at))
        .map(|e| view.apply(e))
        .count()
}
