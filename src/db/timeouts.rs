//! How long a database call may wait: per-connection settings applied when the pool opens a
//! connection (the request bounds), and the longer bounds of start-up work.

use diesel::connection::SimpleConnection;
use diesel::r2d2::CustomizeConnection;
use diesel::{Connection, QueryResult};
use std::time::Duration;

use super::{DbConnection, Pooled, START_UP_WAIT};

/// Runs start-up work with PostgreSQL's lock and statement timeouts at [`START_UP_WAIT`] instead
/// of `db_timeout_ms`, for this transaction only (`SET LOCAL`): the connection goes back to the
/// pool with the request bounds. SQLite's busy timeout is left alone: at start-up the process
/// owns the file (`db::instance_lock`), so nothing else holds its lock.
pub(super) fn with_start_up_timeouts<R>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> QueryResult<R>,
) -> QueryResult<R> {
    if !matches!(conn, DbConnection::Pg(_)) {
        return f(conn);
    }
    let ms = START_UP_WAIT.as_millis();
    conn.transaction(|conn| {
        conn.batch_execute(&format!(
            "SET LOCAL lock_timeout = {ms}; SET LOCAL statement_timeout = {ms};"
        ))?;
        f(conn)
    })
}

/// SQLite checkpoints the WAL inside the transaction that grows it past this many pages: the
/// revocation writer's. The default (1 000) cost 7 % of a logout storm's CPU; the pages that
/// every commit rewrites (each index's right edge) are copied back ten times less often.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Per-connection settings, applied once when the pool opens a connection.
///
/// SQLite: wait on locks instead of failing with "database is locked", but no longer than
/// `db_timeout_ms`; sync every commit so that a logout answered 200 survives a power cut.
///
/// PostgreSQL: `lock_timeout` and `statement_timeout` at `db_timeout_ms`, so that a query stuck
/// behind another session's lock, or a slow one, ends on the server as well and frees its
/// connection and thread (the caller has already been answered 503 by [`Db::run`]'s deadline);
/// an open transaction left idle cannot hold locks for long either.
#[derive(Debug)]
pub(super) struct SessionSettings {
    pub(super) timeout: Duration,
}

impl SessionSettings {
    fn sql(&self, conn: &DbConnection) -> String {
        let ms = self.timeout.as_millis().max(1);
        match conn {
            DbConnection::Sqlite(_) => format!(
                "PRAGMA busy_timeout = {ms}; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
            ),
            DbConnection::Pg(_) => format!(
                "SET lock_timeout = {ms}; SET statement_timeout = {ms}; \
                 SET idle_in_transaction_session_timeout = {idle};",
                idle = ms.saturating_mul(5).max(10_000)
            ),
        }
    }
}

impl CustomizeConnection<Pooled, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, pooled: &mut Pooled) -> Result<(), diesel::r2d2::Error> {
        let sql = self.sql(&pooled.conn);
        pooled
            .conn
            .batch_execute(&sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}
