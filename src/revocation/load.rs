//! Filling the view from the database: revoked token ids, ended sessions and per-user cut-offs;
//! all of them at start (streamed, so that memory holds one batch of rows besides the view), and
//! the recent part after the listener was away.

use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use super::purge_cutoff;
use super::view::{Entry, View};
use crate::db::blacklist::{self, Live};
use crate::db::in_force::{self, Kind};
use crate::db::sessions::{self, Ended};
use crate::db::user_cutoffs::{self, Cutoff};
use crate::db::{from_db_time, to_db_time, DbConnection};

/// How far before the last confirmed instant the catch-up looks: a revocation is stamped when
/// it is queued and commits moments later, and instances' clocks may differ; both are far below
/// this margin, and the query stays cheap (an index range on `blacklisted_at`).
pub const CATCH_UP_MARGIN: time::Duration = time::Duration::minutes(5);

/// Rows read at a time: a PostgreSQL fetch, a few megabytes.
const FETCH: usize = 50_000;
/// Ids inserted at a time: large enough that each shard receives a run of ids (see
/// [`View::apply_ids`]), small enough to stay ten megabytes beside the view.
const BATCH: usize = 500_000;

/// An upper bound of the ids [`everything`] will load, to size the view before loading.
pub fn expected(conn: &mut DbConnection) -> diesel::QueryResult<usize> {
    in_force::count(conn).map(|n| usize::try_from(n).unwrap_or(0))
}

/// Loads every entry still in force at `now`; returns how many.
pub fn everything(
    conn: &mut DbConnection,
    view: &View,
    now: OffsetDateTime,
) -> diesel::QueryResult<usize> {
    let live_from = purge_cutoff(now).unix_timestamp();
    let mut loaded = 0;
    let mut batch = Vec::with_capacity(BATCH + FETCH);
    for kind in [Kind::Tokens, Kind::EndedSessions] {
        in_force::for_each_chunk(conn, kind, FETCH, |rows| {
            let live = rows.drain(..).filter(|r| r.until >= live_from);
            batch.extend(live.map(|r| (r.id, r.until)));
            if batch.len() >= BATCH {
                loaded += view.apply_ids(&batch);
                batch.clear();
            }
        })?;
    }
    loaded += view.apply_ids(&batch);
    let live_at = to_db_time(purge_cutoff(now));
    loaded += apply_cutoffs(view, &user_cutoffs::cutoffs(conn, live_at, None)?);
    Ok(loaded)
}

fn entry(jti: &str, expires_at: PrimitiveDateTime) -> Option<Entry> {
    // A row whose id is not a UUID cannot match any token we accept: nothing to keep.
    let jti = Uuid::parse_str(jti).ok()?;
    let exp = from_db_time(expires_at).unix_timestamp();
    Some(Entry::Token { jti, exp })
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
