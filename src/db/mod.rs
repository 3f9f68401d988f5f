//! The database: connection pool, migrations, and one module per table with the queries that
//! touch it. Nothing here knows about HTTP; every call runs on a blocking thread.
//!
//! A lookup by a unique key ends in `get_result`, not `first`: `first` binds `LIMIT ?`, and
//! SQLite (3.53) re-prepares a statement whose bound LIMIT may change, at every execution.
//! On a logout that was a fifth of the writer's time.

pub mod audit_events;
pub mod blacklist;
mod copy_out;
pub mod devices;
pub mod group_tail;
pub mod health_probe;
pub mod in_force;
pub mod instance_lock;
pub mod logout_group;
pub mod mfa_challenges;
pub mod mfa_totp;
pub mod passkeys;
mod read_only;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod revocations_hourly;
pub mod schema;
pub mod sessions;
pub mod sessions_over;
pub mod snapshot;
mod timeouts;
pub mod user_cutoffs;
pub mod users;
pub mod webauthn_challenges;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool};
use diesel::{Connection, ConnectionError, PgConnection, QueryResult, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use self::timeouts::{with_start_up_timeouts, SessionSettings};
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

/// How long start-up work may wait for a connection, a lock or a statement (see
/// [`Db::for_start_up`]): long enough for a loaded machine or a large table, short enough that a
/// server that cannot start says so.
pub const START_UP_WAIT: Duration = Duration::from_secs(60);

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
    /// The call did not finish within `db_timeout_ms` (a lock, a lost connection, a busy pool
    /// or a slow statement); it may still complete later, unseen.
    #[error("no answer within {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// The blocking task itself failed (a panic in a query closure).
    #[error("{0}")]
    Internal(String),
}

/// Pool settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: u32,
    /// How long a database call on a request path may take, end to end: waiting for a blocking
    /// thread, a connection, a lock, the network and the statement itself. Past it the call
    /// fails and the request answers 503.
    pub timeout: Duration,
}

impl PoolSettings {
    /// The server's and the command line's pool: `db_pool_size` and `db_timeout_ms`.
    pub fn of(config: &crate::config::AppConfig) -> Self {
        Self {
            max_size: config.db_pool_size,
            timeout: config.db_timeout,
        }
    }
}

/// Opens connections of the variant the URL's scheme names. Diesel's own multi-connection
/// `establish` would try each backend in turn and hide the real error.
#[derive(Debug, Clone)]
struct Manager {
    url: DatabaseUrl,
    /// SQLite: open the file read-only (see [`read_only`]).
    read_only: bool,
}

impl Manager {
    fn target(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) if self.read_only => read_only::sqlite_uri(path),
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

/// A pooled connection, and whether its last use failed in a way that may mean it is dead.
pub struct Pooled {
    conn: DbConnection,
    suspect: bool,
}

/// Errors after which a connection is not reused: the server may have closed it (diesel does
/// not mark a PostgreSQL connection broken outside a transaction). Constraint violations and
/// the like say nothing about the connection and keep it.
fn connection_may_be_dead(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        err,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::Unknown,
            _
        ) | Error::BrokenTransactionManager
    )
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let conn = self
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(Pooled {
            conn,
            suspect: false,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    /// Checked when a connection returns to the pool, at no cost: no round trip on checkout.
    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.suspect || diesel::r2d2::R2D2Connection::is_broken(&mut pooled.conn)
    }
}

/// A cloneable handle on the connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    url: DatabaseUrl,
    /// The end-to-end bound of [`Db::run`] (`db_timeout_ms`).
    timeout: Duration,
    /// Set on a handle from [`Db::for_start_up`].
    start_up: bool,
    write_probe: Arc<health_probe::WriteProbe>,
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
            create_parent_dir(path)?;
        }
        let manager = Manager {
            url: url.clone(),
            read_only: false,
        };
        // One direct connection first: its error names the real cause, where the pool would
        // only report a timeout.
        let mut conn = manager
            .establish()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        migrate(&mut conn).map_err(|e| DbError::Internal(format!("migrations failed: {e}")))?;
        drop(conn);
        Self::pooled(manager, settings)
    }

    fn pooled(manager: Manager, settings: PoolSettings) -> Result<Self, DbError> {
        let url = manager.url.clone();
        // No `SELECT 1` on every checkout: that was a round trip on every request. A connection
        // that failed at the connection level is marked broken by diesel and dropped by r2d2
        // when it returns (`has_broken`); the request that met the failure answers 503.
        let pool = Pool::builder()
            .test_on_check_out(false)
            .max_size(settings.max_size)
            .min_idle(Some(0))
            .connection_timeout(settings.timeout)
            .connection_customizer(Box::new(SessionSettings {
                timeout: settings.timeout,
            }))
            .build(manager)
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Self {
            pool,
            url,
            timeout: settings.timeout,
            start_up: false,
            write_probe: Arc::default(),
        })
    }

    /// Runs `f` with a pooled connection on a blocking thread, for a request: fails with
    /// `Unavailable` once `db_timeout_ms` has passed, whatever it is waiting for. The statement
    /// timeouts of [`SessionSettings`] then stop the query itself shortly after, so the
    /// abandoned thread and its connection come back too. On a [`Db::for_start_up`] handle the
    /// wait is [`START_UP_WAIT`] instead.
    pub async fn run<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let db = self.clone();
        let call = tokio::task::spawn_blocking(move || db.run_blocking(f));
        let joined = if self.start_up {
            call.await
        } else {
            match tokio::time::timeout(self.timeout, call).await {
                Ok(joined) => joined,
                Err(_) => return Err(DbError::TimedOut(self.timeout)),
            }
        };
        joined.map_err(|e| DbError::Internal(e.to_string()))?
    }

    /// The same pool for start-up work (loading the revocation view, creating the admin), which
    /// no client waits on: no overall deadline, and up to [`START_UP_WAIT`] for a connection, a
    /// lock or a statement. With `db_timeout_ms` alone, a loaded machine or a large table could
    /// keep the server from starting at all.
    pub fn for_start_up(&self) -> Self {
        Self {
            start_up: true,
            ..self.clone()
        }
    }

    /// The bound on a request's database call (`db_timeout_ms`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `f` with a pooled connection on the calling thread: for the server's own background
    /// threads, never for an async worker.
    pub fn run_blocking<R>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> QueryResult<R>,
    ) -> Result<R, DbError> {
        let wait = if self.start_up {
            START_UP_WAIT
        } else {
            self.timeout
        };
        let mut pooled = self
            .pool
            .get_timeout(wait)
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let result = if self.start_up {
            with_start_up_timeouts(&mut pooled.conn, f)
        } else {
            f(&mut pooled.conn)
        };
        if let Err(e) = &result {
            pooled.suspect = connection_may_be_dead(e);
        }
        result.map_err(DbError::Query)
    }

    /// Whether this is a PostgreSQL database, which other instances may share.
    pub fn is_postgres(&self) -> bool {
        matches!(self.url, DatabaseUrl::Postgres(_))
    }

    /// A PostgreSQL connection outside the pool, for a session that keeps state of its own
    /// (LISTEN), named `application_name` so that operators can find it in `pg_stat_activity`.
    pub fn dedicated_pg(&self, application_name: &str) -> Result<PgConnection, DbError> {
        let DatabaseUrl::Postgres(pg) = &self.url else {
            return Err(DbError::Internal("not a PostgreSQL database".into()));
        };
        let uri = pg.with_param("application_name", application_name);
        PgConnection::establish(&uri).map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Answers whether the database takes writes right now (see [`health_probe::WriteProbe`]).
    pub async fn can_write(&self) -> Result<(), DbError> {
        self.write_probe.check(self).await
    }

    /// Answers whether the database can serve the guard's query right now (an indexed lookup
    /// on the blacklist, so a missing table counts as down, as it would for the guard).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| blacklist::contains(conn, "health-check").map(drop))
            .await
    }
}

/// Runs `f` in a transaction that writes. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`): a transaction that reads first and writes later would fail at once with
/// "database is locked" when another connection committed in between, where waiting for the
/// lock (the busy timeout) orders them instead. On PostgreSQL it is a plain transaction.
pub fn write_transaction<R>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> QueryResult<R>,
) -> QueryResult<R> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // The multi-connection's transaction manager keeps its state in the SQLite connection's,
    // so it commits or rolls back what was begun above.
    type Manager = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = Manager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Creates the folder a SQLite file (or its lock file) goes in.
pub(crate) fn create_parent_dir(path: &std::path::Path) -> Result<(), DbError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent)
            .map_err(|e| DbError::Unavailable(format!("cannot create {}: {e}", parent.display()))),
        None => Ok(()),
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
