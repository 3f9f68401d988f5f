//! The binary's subcommands. Without one, the binary serves; with one, it does that one thing and
//! exits without starting a server: 0 done, 1 refused (a message on stderr), 2 misuse (clap's
//! own code for a bad command line).
//!
//! `user` and `sessions` act on the configured database (read as the server reads it) through
//! the same services, revocation writer and audit trail as the HTTP routes, as the actor `cli`.

mod app;
mod backup;
mod check_config;
mod keys;
mod password;
mod sessions;
mod show;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A session server: JWT in an HttpOnly cookie, and a logout that really works.
#[derive(Parser)]
#[command(name = "jwt-blacklist", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        action: keys::KeysCommand,
    },
    /// Checks the configuration as start-up would and prints the effective settings (secrets
    /// as `<set>`); opens no database, so it runs beside a server.
    CheckConfig(check_config::CheckConfig),
    /// Copies the SQLite database into a new file while the server runs (`VACUUM INTO`).
    Backup(backup::Backup),
    /// Accounts: list, show, create, set a password or a role, lock, unlock, delete.
    ///
    /// Reads the server's configuration (Rocket.toml, `ROCKET_*` variables) to find the
    /// database. Changes are recorded in the audit trail with the actor `cli`. On SQLite a
    /// change is refused while a server runs on the file (stop it, or use the HTTP API);
    /// `list` and `show` work beside it. On PostgreSQL running servers refuse the sessions a
    /// change ends within `revocation_max_staleness`.
    User {
        #[command(subcommand)]
        action: user::UserCommand,
    },
    /// Live sessions of an account: list them, end one or all.
    ///
    /// Same configuration, audit actor and SQLite rule as `user`: `list` works beside a
    /// running server, `end` does not.
    Sessions {
        #[command(subcommand)]
        action: sessions::SessionsCommand,
    },
}

/// Runs a subcommand.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Keys { action } => keys::run(action),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Backup(args) => backup::run(args),
        Command::User { action } => app::block_on(user::run(action)),
        Command::Sessions { action } => app::block_on(sessions::run(action)),
    }
}

/// Why a command did nothing (exit 1), or could not be run as typed (exit 2): a message for
/// stderr, one line, never a secret.
#[derive(Debug)]
pub enum Refusal {
    Refused(String),
    Misuse(String),
}

impl Refusal {
    fn refused(message: impl Into<String>) -> Self {
        Self::Refused(message.into())
    }
}

/// What a command's run ends with.
pub type Done = Result<(), Refusal>;
