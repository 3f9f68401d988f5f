//! Queries on `revocations_hourly`: how many revocations (logouts, sessions ended, logouts
//! everywhere: each counts one) were committed in each hour, for the admin page's chart. The blacklist itself cannot answer that for long: its rows are purged
//! as soon as their tokens expire.

use diesel::prelude::*;
use diesel::upsert::excluded;
use time::{Duration, PrimitiveDateTime, Time};

use super::schema::revocations_hourly::dsl::{hour, revocations_hourly, revoked};
use super::DbConnection;

/// Hours older than this are deleted by the purge.
pub const KEPT: Duration = Duration::hours(48);

/// The start of the hour `at` falls in.
pub fn hour_of(at: PrimitiveDateTime) -> PrimitiveDateTime {
    at.replace_time(Time::from_hms(at.hour(), 0, 0).unwrap_or(Time::MIDNIGHT))
}

/// Adds `count` revocations to the hour of `at` (one statement, inside the writer's
/// transaction, so the figure commits with the revocations it counts).
pub fn add(conn: &mut DbConnection, at: PrimitiveDateTime, count: i64) -> QueryResult<()> {
    let upsert = diesel::insert_into(revocations_hourly)
        .values((hour.eq(hour_of(at)), revoked.eq(count)))
        .on_conflict(hour)
        .do_update()
        .set(revoked.eq(revoked + excluded(revoked)));
    match conn {
        DbConnection::Sqlite(c) => upsert.execute(c),
        DbConnection::Pg(c) => upsert.execute(c),
    }
    .map(drop)
}

/// The hours from `from` on that had revocations, oldest first.
pub fn since(
    conn: &mut DbConnection,
    from: PrimitiveDateTime,
) -> QueryResult<Vec<(PrimitiveDateTime, i64)>> {
    revocations_hourly
        .filter(hour.ge(hour_of(from)))
        .order(hour.asc())
        .select((hour, revoked))
        .load(conn)
}

/// Deletes the hours before `before`.
pub fn purge(conn: &mut DbConnection, before: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(revocations_hourly.filter(hour.lt(before))).execute(conn)
}
