//! What a command works on: the configuration read exactly as the server reads it
//! ([`config::figment`]), then either the database alone, read-only, for a command that only
//! looks, or the application the server builds ([`crate::assemble`]) for one that changes
//! something, so that it goes through the same services, revocation writer and audit trail.
//! A command never starts the purge schedule nor creates the configured admin.

use std::future::Future;
use std::process::ExitCode;

use super::{Done, Refusal};
use crate::app::App;
use crate::config::{self, AppConfig, DatabaseUrl, RevocationCheck};
use crate::db::instance_lock::InstanceLock;
use crate::db::{Db, DbError, PoolSettings};
use crate::Start;

/// Runs a command to its end and turns its outcome into the exit code, its refusal into one
/// line on stderr.
pub fn block_on(command: impl Future<Output = Done>) -> ExitCode {
    // The services log the cause of a failure where it happens (and answer "internal
    // failure"): the operator sees it on stderr. Stdout stays the command's own output.
    if log::set_boxed_logger(Box::new(Stderr)).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refusal::Refused(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
        Err(Refusal::Misuse(message)) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn configuration() -> Result<AppConfig, Refusal> {
    AppConfig::from_figment(&config::figment())
        .map_err(|e| Refusal::refused(format!("the configuration is refused: {e}")))
}

/// The database, to read: no instance lock, no migration, and on SQLite no right to write,
/// so that it works beside a running server.
pub async fn reader() -> Result<Db, Refusal> {
    let config = configuration()?;
    Db::open_read_only(config.database.clone(), PoolSettings::of(&config))
        .await
        .map_err(|e| match e {
            DbError::Unavailable(why) => Refusal::Refused(why),
            e => Refusal::refused(e.to_string()),
        })
}

/// The application, to change accounts. On SQLite the file's instance lock is taken first:
/// while a server holds it, the command is refused, since that server's revocation view would
/// miss what the command revokes.
pub async fn writer() -> Result<App, Refusal> {
    let mut config = configuration()?;
    let lock = match &config.database {
        DatabaseUrl::Sqlite(path) => match InstanceLock::try_acquire(path) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => {
                return Err(Refusal::refused(format!(
                    "a server is running on the {}: stop the server to change accounts from \
                     the command line, or use the HTTP API (SQLite serves one process)",
                    config.database
                )))
            }
            Err(e) => return Err(Refusal::refused(e.to_string())),
        },
        DatabaseUrl::Postgres(_) => None,
    };
    // A command checks no token: loading the revocation view (and listening for the other
    // instances' changes) would be work for nothing. The writer still notifies the instances.
    config.revocation.check = RevocationCheck::Database;
    crate::assemble(config, Start::Command(lock))
        .await
        .map_err(Refusal::Refused)
}

/// The server's warnings and errors, one line each on stderr, while a command runs.
struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn && metadata.target().starts_with("jwt_blacklist")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_ascii_lowercase();
            eprintln!("{level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}
