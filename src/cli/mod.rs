//! The binary's subcommands. Without one, the binary serves; with one, it does that one thing and
//! exits without starting a server: 0 done, 1 refused (a message on stderr), 2 misuse (clap's
//! own code for a bad command line).

mod backup;
mod check_config;
mod keys;

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
}

/// Runs a subcommand.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Keys { action } => keys::run(action),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Backup(args) => backup::run(args),
    }
}
