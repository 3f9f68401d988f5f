//! The database: connection pool, migrations, and one module per table with the queries that
//! touch it. Nothing here knows about HTTP; every call runs on a blocking thread.

pub mod blacklist;
pub mod schema;
pub mod users;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, QueryResult, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::config::DatabaseUrl;

/// The connection type every query is written against.
pub type DbConnection = SqliteConnection;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Why a database call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time: the database is down or saturated.
    #[error("no connection: {0}")]
    Unavailable(String),
    /// The database answered with an error.
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// The blocking task itself failed (a panic in a query closure).
    #[error("{0}")]
    Internal(String),
}

/// Pool settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: u32,
    /// How long a caller waits for a connection before giving up (and the guard answers 503).
    pub timeout: Duration,
}

/// A cloneable handle on the connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<DbConnection>>,
}

impl Db {
    /// Opens the database (creating a SQLite file and its folder), migrates it and pools it.
    pub async fn connect(url: DatabaseUrl, settings: PoolSettings) -> Result<Self, DbError> {
        tokio::task::spawn_blocking(move || Self::connect_blocking(&url, settings))
            .await
            .map_err(|e| DbError::Internal(e.to_string()))?
    }

    fn connect_blocking(url: &DatabaseUrl, settings: PoolSettings) -> Result<Self, DbError> {
        let DatabaseUrl::Sqlite(path) = url;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                DbError::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let target = path.to_string_lossy().into_owned();
        // One direct connection first: its error names the real cause, where the pool would
        // only report a timeout. WAL is a property of the file, so it is set once here.
        let mut conn = SqliteConnection::establish(&target)
            .map_err(|e| DbError::Unavailable(format!("{url}: {e}")))?;
        conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| DbError::Internal(format!("migrations failed on {url}: {e}")))?;
        drop(conn);
        let pool = Pool::builder()
            .max_size(settings.max_size)
            .connection_timeout(settings.timeout)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(ConnectionManager::new(target))
            .map_err(|e| DbError::Unavailable(format!("{url}: {e}")))?;
        Ok(Self { pool })
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub async fn run<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn: PooledConnection<_> = pool
                .get()
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            f(&mut conn).map_err(DbError::Query)
        })
        .await
        .map_err(|e| DbError::Internal(e.to_string()))?
    }

    /// Answers whether the database can serve the guard's query right now (an indexed lookup
    /// on the blacklist, so a missing table counts as down, as it would for the guard).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| blacklist::contains(conn, "health-check").map(drop))
            .await
    }
}

/// Per-connection SQLite settings: wait on locks instead of failing with "database is locked",
/// and sync every commit so that a logout answered 200 survives a power cut.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Converts to the column type: UTC, microsecond precision (what both backends keep).
pub fn to_db_time(t: OffsetDateTime) -> PrimitiveDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    let micros = utc.microsecond();
    let utc = utc.replace_nanosecond(micros * 1000).unwrap_or(utc);
    PrimitiveDateTime::new(utc.date(), utc.time())
}

/// Reads a column value back as a UTC instant.
pub fn from_db_time(t: PrimitiveDateTime) -> OffsetDateTime {
    t.assume_utc()
}
