//! The binary's subcommands. Without one, the binary serves; with one, it does that one thing and
//! exits without starting a server: 0 done, 1 refused (a message on stderr), 2 misuse (clap's
//! own code for a bad command line).

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
}

/// Runs a subcommand.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Keys { action } => keys::run(action),
    }
}
