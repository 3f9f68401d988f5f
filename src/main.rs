//! Starts the server; everything is assembled in `lib.rs`.

use std::process::ExitCode;

#[rocket::main]
async fn main() -> ExitCode {
    match jwt_blacklist::rocket().launch().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause was logged where it happened; this marks Rocket's error as handled so
            // that it exits with a status instead of a panic and a backtrace.
            eprintln!("the server did not start: {}", e.kind());
            ExitCode::FAILURE
        }
    }
}
