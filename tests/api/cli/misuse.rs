//! A command line the binary cannot run exits 2 (clap's code) before touching any database;
//! a password can never be an argument.

use super::run;
use crate::instances::BINARY;

fn binary(args: &[&str]) -> super::Out {
    run(&mut std::process::Command::new(BINARY), args, None)
}

#[test]
fn unknown_subcommands_and_missing_or_extra_arguments_exit_2() {
    let cases: [&[&str]; 9] = [
        &["user"],
        &["user", "frobnicate"],
        &["user", "show"],
        &["user", "set-role", "alice"],
        &["user", "set-role", "alice", "root"],
        &["user", "create", "alice", "--role", "superuser"],
        &["sessions", "end"],
        &[
            "sessions",
            "end",
            "0190a5f4-0000-7000-8000-000000000000",
            "--user",
            "alice",
        ],
        &["sessions", "list"],
    ];
    for args in cases {
        let out = binary(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: clap says why");
    }
}

#[test]
fn a_password_cannot_be_given_as_an_argument() {
    for args in [
        &["user", "create", "alice", "--password", "alice-password-1"][..],
        &["user", "create", "alice", "alice-password-1"],
        &["user", "set-password", "alice", "alice-password-1"],
        &[
            "user",
            "set-password",
            "alice",
            "--password=alice-password-1",
        ],
    ] {
        let out = binary(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
    }
    let help = binary(&["user", "create", "--help"]);
    assert_eq!(help.code, Some(0), "{help:?}");
    assert!(help.stdout.contains("--password-stdin"), "{}", help.stdout);
    assert!(!help.stdout.contains("--password "), "{}", help.stdout);
    // Without a terminal, and without --password-stdin, there is nowhere to read it from.
    let out = binary(&["user", "create", "alice"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--password-stdin"), "{out:?}");
}
