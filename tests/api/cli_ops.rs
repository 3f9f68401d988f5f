//! The operator's commands of the real binary: `check-config` and `backup`, run beside a
//! server on the same configuration.

mod backup;
mod check_config;
mod storm;

use std::process::Command;

use crate::instances::server;

/// The binary configured as [`server`] configures a test server on `url`, running `args`.
pub(crate) fn command(url: &str, args: &[&str]) -> Command {
    let mut cmd = server(url);
    cmd.args(args);
    cmd
}

/// Runs `cmd` to its end: exit code, stdout, stderr.
pub(crate) fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().expect("run the binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
