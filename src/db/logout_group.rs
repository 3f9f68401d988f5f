//! A commit group's logouts in one statement, on PostgreSQL.
//!
//! Each logout adds its token's id to `blacklist` and ends its session if no later token was
//! issued in it. Done one statement at a time that is three round trips per logout, and on
//! PostgreSQL the round trips, not the rows, bound the writer (4 600 logouts/s where SQLite,
//! in process, did 19 000). Here every row of the group goes in as arrays, and one statement
//! with two data-modifying CTEs inserts the ids and ends the sessions, and returns what it
//! changed, so a group of any size costs one round trip. SQLite has no data-modifying CTEs and
//! no round trips to save: it keeps the per-logout statements.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamp};
use time::PrimitiveDateTime;

use super::blacklist::Entry;

/// The group's logouts: token ids to record, and sessions to end when their latest token was
/// issued no later than the time given with them. Neither list may repeat a key.
#[derive(Default)]
pub struct Logouts<'a> {
    pub tokens: Vec<&'a Entry>,
    pub sessions: Vec<(String, PrimitiveDateTime)>,
}

/// What the statement changed.
#[derive(Debug, Default)]
pub struct Changed {
    /// The token ids it recorded (the others were recorded already).
    pub added: Vec<String>,
    /// The sessions it ended: id, refused until, and when its latest token was issued.
    pub ended: Vec<(String, PrimitiveDateTime, Option<PrimitiveDateTime>)>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    access_until: Option<PrimitiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    issued: Option<PrimitiveDateTime>,
}

const STATEMENT: &str = "\
WITH added AS (
    INSERT INTO blacklist (jti, username, expires_at, blacklisted_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamp[], $4::timestamp[])
    ON CONFLICT DO NOTHING
    RETURNING jti
), ended AS (
    UPDATE sessions AS s SET ended_at = $5
    FROM unnest($6::text[], $7::timestamp[]) AS t(id, latest_from)
    WHERE s.id = t.id AND s.ended_at IS NULL
      AND (s.access_issued_at IS NULL OR s.access_issued_at <= t.latest_from)
    RETURNING s.id, s.access_until, s.access_issued_at
)
SELECT 'token' AS kind, jti AS id, NULL::timestamp AS access_until, NULL::timestamp AS issued
FROM added
UNION ALL
SELECT 'session', id, access_until, access_issued_at FROM ended";

/// Records every token id and ends every session of `logouts` in one round trip.
pub fn revoke(
    conn: &mut PgConnection,
    logouts: &Logouts<'_>,
    now: PrimitiveDateTime,
) -> QueryResult<Changed> {
    if logouts.tokens.is_empty() && logouts.sessions.is_empty() {
        return Ok(Changed::default());
    }
    let tokens = &logouts.tokens;
    let rows: Vec<Row> = diesel::sql_query(STATEMENT)
        .bind::<Array<Text>, _>(tokens.iter().map(|e| e.jti.as_str()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(
            tokens
                .iter()
                .map(|e| e.username.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamp>, _>(tokens.iter().map(|e| e.expires_at).collect::<Vec<_>>())
        .bind::<Array<Timestamp>, _>(tokens.iter().map(|e| e.blacklisted_at).collect::<Vec<_>>())
        .bind::<Timestamp, _>(now)
        .bind::<Array<Text>, _>(
            logouts
                .sessions
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamp>, _>(
            logouts
                .sessions
                .iter()
                .map(|(_, latest)| *latest)
                .collect::<Vec<_>>(),
        )
        .load(conn)?;
    let mut changed = Changed::default();
    for row in rows {
        match (row.kind.as_str(), row.access_until) {
            ("session", Some(until)) => changed.ended.push((row.id, until, row.issued)),
            _ => changed.added.push(row.id),
        }
    }
    Ok(changed)
}
