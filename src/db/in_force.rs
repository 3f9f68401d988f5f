//! The start-up's bulk reads: every revoked token id and every ended session, with the Unix
//! second until which each matters, streamed so that no result holds a whole table.
//!
//! At ten million rows these reads are most of a start-up, so each backend is read the way it is
//! cheapest to read, measured on the benchmark's ten million rows:
//! - SQLite steps one statement through the table in its own order and computes the Unix second
//!   itself (`unixepoch`), cheaper than decoding the timestamp's text here.
//! - PostgreSQL sends the columns with `COPY ... TO STDOUT` in its binary format (read by
//!   [`copy_out`]): one stream instead of a result per fetch, no per-row result bookkeeping in
//!   libpq or allocation here, and the expiry as a count of microseconds. Computing the second
//!   there (`extract` yields a `numeric`) or casting the id to `uuid` cost its one CPU more than
//!   the scan itself.
//!
//! Neither filters on the expiry: an index range over a column whose order is not the table's
//! would turn a sequential scan into one random lookup per row. The caller skips the few rows the
//! purge has not yet removed. A row whose id is not a UUID cannot match any token the server
//! accepts, so it is skipped here.

use diesel::connection::DefaultLoadingMode;
use diesel::pg::CopyFormat;
use diesel::prelude::*;
use diesel::result::Error;
use diesel::sql_types::{BigInt, Text};
use uuid::Uuid;

use super::copy_out;
use super::schema::{blacklist, sessions};
use super::DbConnection;

/// A revoked id (a token's or a session's) and the Unix second until which it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InForce {
    pub id: Uuid,
    pub until: i64,
}

impl InForce {
    /// `id` is the id's text, as both backends store it.
    fn new(id: &[u8], until: i64) -> Option<Self> {
        let id = Uuid::try_parse_ascii(id).ok()?;
        Some(Self { id, until })
    }
}

/// The id (text) in field `id` and the expiry (a binary timestamp) in field `until`.
fn pg_in_force(row: &copy_out::Row<'_>, id: usize, until: usize) -> Option<InForce> {
    InForce::new(row.field(id)?, copy_out::timestamp_secs(row.field(until)?)?)
}

/// Which revocations to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Revoked token ids, refused until the token expires.
    Tokens,
    /// Ended sessions, refused until their last access token expires.
    EndedSessions,
}

#[derive(QueryableByName)]
struct SqliteRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    until: i64,
}

/// Hands every row of `kind` to `each`, up to `chunk` rows at a time (the vector is the
/// caller's to drain). Each backend reads in one statement, so it sees one snapshot.
pub fn for_each_chunk(
    conn: &mut DbConnection,
    kind: Kind,
    chunk: usize,
    mut each: impl FnMut(&mut Vec<InForce>),
) -> QueryResult<()> {
    let mut rows = Vec::with_capacity(chunk);
    let mut push = |row: Option<InForce>| {
        rows.extend(row);
        if rows.len() >= chunk {
            each(&mut rows);
            rows.clear();
        }
    };
    match (conn, kind) {
        (DbConnection::Sqlite(c), _) => {
            let query = match kind {
                Kind::Tokens => "SELECT jti AS id, unixepoch(expires_at) AS until FROM blacklist",
                Kind::EndedSessions => {
                    "SELECT id, unixepoch(access_until) AS until FROM sessions \
                     WHERE ended_at IS NOT NULL"
                }
            };
            for row in diesel::sql_query(query).load_iter::<SqliteRow, DefaultLoadingMode>(c)? {
                let row = row?;
                push(InForce::new(row.id.as_bytes(), row.until));
            }
        }
        (DbConnection::Pg(c), Kind::Tokens) => {
            let copy = diesel::copy_to((blacklist::jti, blacklist::expires_at))
                .with_format(CopyFormat::Binary)
                .load_raw(c)?;
            copy_out::for_each_row(copy, |row| push(pg_in_force(row, 0, 1)))
                .map_err(|e| Error::DeserializationError(Box::new(e)))?;
            copy_out::finish(c)?;
        }
        (DbConnection::Pg(c), Kind::EndedSessions) => {
            // `COPY` takes every row: a session that has not ended is skipped here.
            let columns = (sessions::id, sessions::access_until, sessions::ended_at);
            let copy = diesel::copy_to(columns)
                .with_format(CopyFormat::Binary)
                .load_raw(c)?;
            copy_out::for_each_row(copy, |row| {
                if row.field(2).is_some() {
                    push(pg_in_force(row, 0, 1));
                }
            })
            .map_err(|e| Error::DeserializationError(Box::new(e)))?;
            copy_out::finish(c)?;
        }
    }
    each(&mut rows);
    Ok(())
}

/// How many rows the two reads will yield at most: the view is sized from it before loading.
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    let tokens: i64 = blacklist::table.count().get_result(conn)?;
    let ended: i64 = sessions::table
        .filter(sessions::ended_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(tokens + ended)
}
