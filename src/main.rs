//! Starts the server, or runs one of the binary's subcommands (see `cli`); everything the server
//! is made of is assembled in `lib.rs`.

use std::process::ExitCode;

use clap::Parser;
use jwt_blacklist::cli::{self, Cli};
use jwt_blacklist::telemetry::logger::Logger;

fn main() -> ExitCode {
    match Cli::parse().command {
        Some(command) => cli::run(command),
        None => rocket::execute(serve()),
    }
}

async fn serve() -> ExitCode {
    let figment = jwt_blacklist::config::figment();
    // Before Rocket starts, so that its records come through this logger too.
    let _ = Logger::from_figment(&figment).install();
    match jwt_blacklist::rocket_from(figment).launch().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause was logged where it happened; this marks Rocket's error as handled so
            // that it exits with a status instead of a panic and a backtrace.
            eprintln!("the server did not start: {}", e.kind());
            ExitCode::FAILURE
        }
    }
}
