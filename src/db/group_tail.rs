//! What every commit group writes after its jobs: their audit events, the hour's revocation
//! count and the notices to the other instances, all in the group's transaction.
//!
//! On PostgreSQL the writer's commit cycle is bound by round trips, not by CPU (under a logout
//! storm both the server and PostgreSQL sat half idle): so the three go in one statement, two
//! data-modifying CTEs and a `SELECT pg_notify`, instead of one statement each (and one per
//! notice). SQLite has no round trips to save.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use time::PrimitiveDateTime;

use super::audit_events::{self, NewEvent};
use super::{revocations_hourly, DbConnection};

/// The group's records.
pub struct Tail<'a> {
    pub events: &'a [NewEvent],
    /// When the group committed, and how many revocations it counts for that hour (0: none).
    pub revoked: (PrimitiveDateTime, i64),
    /// The channel and payloads of the notices, which PostgreSQL delivers to every listening
    /// instance when the transaction commits, and only then.
    pub channel: &'a str,
    pub notices: &'a [String],
}

/// Writes `tail` in as few statements as the backend allows.
pub fn write(conn: &mut DbConnection, tail: &Tail<'_>) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(pg) => write_pg(pg, tail),
        DbConnection::Sqlite(_) => {
            // One cached statement a row: a statement writing several rows makes SQLite copy
            // every page it touches to a statement journal first, which costs more than the
            // statements it would save.
            for event in tail.events {
                audit_events::insert(conn, event)?;
            }
            let (at, count) = tail.revoked;
            if count > 0 {
                revocations_hourly::add(conn, at, count)?;
            }
            // One process owns a SQLite file: there is no other instance to tell.
            Ok(())
        }
    }
}

const STATEMENT: &str = "\
WITH events AS (
    INSERT INTO audit_events
        (at, kind, actor, username, user_id, session_id, ip, user_agent, detail, count, dedup)
    SELECT * FROM unnest($1::timestamp[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::text[])
), hourly AS (
    INSERT INTO revocations_hourly (hour, revoked)
    SELECT $12, $13 WHERE $13 > 0
    ON CONFLICT (hour) DO UPDATE SET revoked = revocations_hourly.revoked + excluded.revoked
)
SELECT pg_notify($14, payload) FROM unnest($15::text[]) AS payload";

fn write_pg(conn: &mut PgConnection, tail: &Tail<'_>) -> QueryResult<()> {
    let events = tail.events;
    if events.is_empty() && tail.revoked.1 == 0 && tail.notices.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&NewEvent) -> &str| events.iter().map(f).collect::<Vec<_>>();
    let maybe = |f: fn(&NewEvent) -> Option<&str>| events.iter().map(f).collect::<Vec<_>>();
    let (at, count) = tail.revoked;
    diesel::sql_query(STATEMENT)
        .bind::<Array<Timestamp>, _>(events.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(text(|e| &e.kind))
        .bind::<Array<Text>, _>(text(|e| &e.actor))
        .bind::<Array<Nullable<Text>>, _>(maybe(|e| e.username.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(maybe(|e| e.user_id.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(maybe(|e| e.session_id.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(maybe(|e| e.ip.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(maybe(|e| e.user_agent.as_deref()))
        .bind::<Array<Text>, _>(text(|e| &e.detail))
        .bind::<Array<BigInt>, _>(events.iter().map(|e| e.count).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(maybe(|e| e.dedup.as_deref()))
        .bind::<Timestamp, _>(revocations_hourly::hour_of(at))
        .bind::<BigInt, _>(count)
        .bind::<Text, _>(tail.channel)
        .bind::<Array<Text>, _>(tail.notices)
        .execute(conn)
        .map(drop)
}
