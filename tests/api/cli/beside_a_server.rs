//! Commands beside a running server: on PostgreSQL the server refuses what a command ended
//! within the revocation bound; on SQLite a command that writes is refused and one that reads
//! works.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::{cli, Site};
use crate::helpers::{postgres_base_url, TestDb};

#[rocket::async_test]
async fn on_postgres_a_running_server_refuses_the_sessions_a_command_ended_within_a_second() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let mut site = Site::new(TestDb::postgres(&base));
    site.create("alice", "alice-password-1", "user");
    let token = site.token("alice", "alice-password-1").await;
    assert_eq!(
        site.me(&token).await,
        StatusCode::OK,
        "served by the running instance"
    );
    site.cli(&["sessions", "end", "--user", "alice"], None).ok();
    let exited = Instant::now();
    let deadline = exited + Duration::from_secs(1);
    loop {
        let seen = site.me(&token).await;
        if seen == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running server still answers {seen} {:?} after the command exited",
            exited.elapsed()
        );
    }
}

#[rocket::async_test]
async fn on_sqlite_a_command_that_writes_beside_a_running_server_is_refused_and_changes_nothing() {
    let mut site = Site::new(TestDb::sqlite());
    site.create("alice", "alice-password-1", "user");
    let token = site.token("alice", "alice-password-1").await;
    let writes: [(&[&str], Option<&str>); 7] = [
        (&["user", "lock", "alice"], None),
        (&["user", "set-role", "alice", "admin"], None),
        (&["user", "delete", "alice"], None),
        (&["user", "unlock", "alice"], None),
        (
            &["user", "set-password", "alice", "--password-stdin"],
            Some("alice-password-2\n"),
        ),
        (
            &["user", "create", "bob", "--password-stdin"],
            Some("bob-password-1\n"),
        ),
        (&["sessions", "end", "--user", "alice"], None),
    ];
    for (args, stdin) in writes {
        let out = cli(&site.db, args, stdin).refused("stop the server");
        assert!(out.stderr.contains("HTTP API"), "{out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{out:?}");
    }
    assert_eq!(site.me(&token).await, StatusCode::OK, "the session goes on");
    let list = cli(&site.db, &["user", "list", "--json"], None).ok().json();
    assert_eq!(list["total"], 1, "{list}");
    let alice = &list["items"][0];
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["role"], "user");
    assert_eq!(alice["locked"], false);
    assert_eq!(alice["live_sessions"], 1);
    cli(&site.db, &["user", "show", "alice"], None).ok();
    let (status, _) = site.login("alice", "alice-password-1").await;
    assert_eq!(status, StatusCode::OK, "the password is unchanged");
    let events = super::events(&site.db).await;
    let by_cli: Vec<_> = events
        .iter()
        .filter(|(_, actor, _)| actor == "cli")
        .collect();
    assert_eq!(by_cli.len(), 1, "only the creation: {events:?}");
}
