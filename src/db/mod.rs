//! The database: connection pool, migrations, and one module per table with the queries that
//! touch it. Nothing here knows about HTTP; every call runs on a blocking thread.

pub mod blacklist;
pub mod schema;
pub mod users;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection};
use diesel::{Connection, ConnectionError, PgConnection, QueryResult, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::config::DatabaseUrl;

/// The connection every query is written against: one code path for both backends. The few
/// statements whose SQL differs match on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migrations when several instances start at once on one PostgreSQL database.
const MIGRATION_LOCK_KEY: i64 = 0x006a_7774_5f62_6c6b;

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

/// Opens connections of the variant the URL's scheme names. Diesel's own multi-connection
/// `establish` would try each backend in turn and hide the real error.
#[derive(Debug, Clone)]
struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    fn target(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
            DatabaseUrl::Postgres(pg) => pg.expose().to_owned(),
        }
    }

    fn establish(&self) -> Result<DbConnection, ConnectionError> {
        let target = self.target();
        Ok(match self.url {
            DatabaseUrl::Sqlite(_) => DbConnection::Sqlite(SqliteConnection::establish(&target)?),
            DatabaseUrl::Postgres(_) => DbConnection::Pg(PgConnection::establish(&target)?),
        })
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// A cloneable handle on the connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
}

impl Db {
    /// Opens the database (creating a SQLite file and its folder), migrates it and pools it.
    pub async fn connect(url: DatabaseUrl, settings: PoolSettings) -> Result<Self, DbError> {
        tokio::task::spawn_blocking(move || Self::connect_blocking(url, settings))
            .await
            .map_err(|e| DbError::Internal(e.to_string()))?
    }

    fn connect_blocking(url: DatabaseUrl, settings: PoolSettings) -> Result<Self, DbError> {
        if let DatabaseUrl::Sqlite(path) = &url {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    DbError::Unavailable(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let manager = Manager { url };
        // One direct connection first: its error names the real cause, where the pool would
        // only report a timeout.
        let mut conn = manager
            .establish()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        migrate(&mut conn).map_err(|e| DbError::Internal(format!("migrations failed: {e}")))?;
        drop(conn);
        let pool = Pool::builder()
            .max_size(settings.max_size)
            .min_idle(Some(0))
            .connection_timeout(settings.timeout)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(manager)
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
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

/// Runs the embedded migrations of the connection's backend.
fn migrate(conn: &mut DbConnection) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match conn {
        DbConnection::Sqlite(c) => {
            // WAL is a property of the file: set once, here.
            c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")?;
            c.run_pending_migrations(SQLITE_MIGRATIONS)?;
        }
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result?;
        }
    }
    Ok(())
}

/// Per-connection SQLite settings: wait on locks instead of failing with "database is locked",
/// and sync every commit so that a logout answered 200 survives a power cut.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
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
