//! `user create|set-password|set-role|lock|unlock|delete|list|show`, each on both backends.

use reqwest::StatusCode;

use super::{assert_cli_event, backends, cli, Site};

#[rocket::async_test]
async fn an_account_created_from_the_command_line_logs_in_over_http_and_no_admin_is_bootstrapped() {
    for db in backends() {
        let mut site = Site::new(db);
        site.create("alice", "alice-password-1", "user");
        // The environment names an admin for the server to create: a command does not.
        let list = cli(&site.db, &["user", "list", "--json"], None).ok().json();
        let names: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|u| u["username"].as_str())
            .collect();
        assert_eq!(names, ["alice"], "{list}");
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["role"], "user");
        let token = site.token("alice", "alice-password-1").await;
        assert_eq!(site.me(&token).await, StatusCode::OK);

        site.cli(
            &["user", "create", "alice", "--password-stdin"],
            Some("another-password\n"),
        )
        .refused("alice is taken");
        site.cli(
            &["user", "create", "bob", "--password-stdin"],
            Some("short\n"),
        )
        .refused("at least 8 characters");
        site.cli(
            &["user", "create", "b!", "--password-stdin"],
            Some("bob-password-1\n"),
        )
        .refused("username must be");
        cli(&site.db, &["user", "show", "bob"], None).refused("no user bob");
        assert_cli_event(&site.db, "user.created", "alice").await;
    }
}

#[rocket::async_test]
async fn set_password_ends_the_accounts_sessions_and_the_new_password_works() {
    for db in backends() {
        let mut site = Site::new(db);
        site.create("alice", "alice-password-1", "user");
        let token = site.token("alice", "alice-password-1").await;
        let out = site
            .cli(
                &["user", "set-password", "alice", "--password-stdin"],
                Some("alice-password-2\r\n"),
            )
            .ok();
        assert!(out.stdout.contains("1 session(s) ended"), "{out:?}");
        assert_eq!(site.me_after_change(&token).await, StatusCode::UNAUTHORIZED);
        let (old, _) = site.login("alice", "alice-password-1").await;
        assert_eq!(old, StatusCode::UNAUTHORIZED);
        let fresh = site.token("alice", "alice-password-2").await;
        assert_eq!(site.me(&fresh).await, StatusCode::OK);

        site.cli(
            &["user", "set-password", "alice", "--password-stdin"],
            Some("weak\n"),
        )
        .refused("at least 8 characters");
        site.cli(
            &["user", "set-password", "nobody", "--password-stdin"],
            Some("long-enough-1\n"),
        )
        .refused("no user nobody");
        assert_eq!(
            site.me(&fresh).await,
            StatusCode::OK,
            "refusals changed nothing"
        );
        assert_cli_event(&site.db, "password.changed", "alice").await;
    }
}

#[rocket::async_test]
async fn set_role_changes_the_role_but_never_demotes_the_last_admin() {
    for db in backends() {
        let mut site = Site::new(db);
        site.create("root", "root-password-1", "admin");
        site.create("alice", "alice-password-1", "user");
        let token = site.token("alice", "alice-password-1").await;
        site.cli(&["user", "set-role", "alice", "admin"], None).ok();
        assert_eq!(
            site.me_after_change(&token).await,
            StatusCode::UNAUTHORIZED,
            "sessions ended"
        );
        let shown = cli(&site.db, &["user", "show", "alice", "--json"], None)
            .ok()
            .json();
        assert_eq!(shown["role"], "admin");
        let token = site.token("alice", "alice-password-1").await;
        let url = site.server().url("/api/users");
        let admin_only = site
            .http
            .get(url)
            .header("Cookie", format!("jwt={token}"))
            .send()
            .await
            .expect("list users");
        assert_eq!(admin_only.status(), StatusCode::OK, "alice is an admin now");

        site.cli(&["user", "set-role", "root", "user"], None).ok();
        site.cli(&["user", "set-role", "alice", "user"], None)
            .refused("last admin");
        let shown = cli(&site.db, &["user", "show", "alice", "--json"], None)
            .ok()
            .json();
        assert_eq!(shown["role"], "admin", "the refusal changed nothing");
        assert_cli_event(&site.db, "role.changed", "alice").await;
        assert_cli_event(&site.db, "role.changed", "root").await;
    }
}

#[rocket::async_test]
async fn lock_refuses_logins_and_ends_sessions_and_unlock_lifts_it() {
    for db in backends() {
        let mut site = Site::new(db);
        site.create("alice", "alice-password-1", "user");
        let token = site.token("alice", "alice-password-1").await;
        let out = site
            .cli(
                &["user", "lock", "alice", "--reason", "left the company"],
                None,
            )
            .ok();
        assert!(out.stdout.contains("1 session(s) ended"), "{out:?}");
        assert_eq!(site.me_after_change(&token).await, StatusCode::UNAUTHORIZED);
        let (status, _) = site.login("alice", "alice-password-1").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "locked");
        let shown = cli(&site.db, &["user", "show", "alice", "--json"], None)
            .ok()
            .json();
        assert_eq!(shown["locked"], true);
        assert_eq!(shown["lock_reason"], "left the company");
        assert_eq!(shown["locked_until"], serde_json::Value::Null);
        let lines = cli(&site.db, &["user", "show", "alice"], None).ok().stdout;
        assert!(lines.contains("until unlocked"), "{lines}");

        site.cli(&["user", "lock", "alice", "--reason", " "], None)
            .refused("--reason");
        site.cli(&["user", "unlock", "alice"], None).ok();
        let token = site.token("alice", "alice-password-1").await;
        assert_eq!(site.me(&token).await, StatusCode::OK);
        site.cli(&["user", "unlock", "nobody"], None)
            .refused("no user nobody");
        assert_cli_event(&site.db, "user.locked", "alice").await;
        assert_cli_event(&site.db, "user.unlocked", "alice").await;
    }
}

#[rocket::async_test]
async fn delete_removes_the_account_and_list_and_show_print_tables_lines_or_json() {
    for db in backends() {
        let mut site = Site::new(db);
        site.create("alice", "alice-password-1", "admin");
        site.create("bob", "bob-password-1", "user");
        let table = cli(&site.db, &["user", "list"], None).ok().stdout;
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("USERNAME"), "{table}");
        assert!(
            lines[1].starts_with("alice") && lines[1].contains("admin"),
            "{table}"
        );
        assert!(
            lines[2].starts_with("bob") && lines[2].contains("user"),
            "{table}"
        );
        let admins = cli(
            &site.db,
            &["user", "list", "--role", "admin", "--json"],
            None,
        )
        .ok()
        .json();
        assert_eq!(admins["total"], 1);
        assert_eq!(admins["items"][0]["username"], "alice");
        let shown = cli(&site.db, &["user", "show", "BOB", "--json"], None)
            .ok()
            .json();
        assert_eq!(shown["username"], "bob", "names match in any case");
        assert_eq!(shown["live_sessions"], 0);
        assert_eq!(shown["mfa"], serde_json::json!([]));
        let lines = cli(&site.db, &["user", "show", "bob"], None).ok().stdout;
        assert!(lines.contains("username:      bob"), "{lines}");
        assert!(lines.contains("role:          user"), "{lines}");
        for out in [&table, &lines, &shown.to_string()] {
            assert!(!out.contains("$argon2"), "a hash was printed: {out}");
        }

        let token = site.token("bob", "bob-password-1").await;
        site.cli(&["user", "delete", "bob"], None).ok();
        assert_eq!(site.me_after_change(&token).await, StatusCode::UNAUTHORIZED);
        let (status, _) = site.login("bob", "bob-password-1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        cli(&site.db, &["user", "show", "bob"], None).refused("no user bob");
        site.cli(&["user", "delete", "bob"], None)
            .refused("no user bob");
        site.cli(&["user", "delete", "alice"], None)
            .refused("last admin");
        let list = cli(&site.db, &["user", "list", "--json"], None).ok().json();
        assert_eq!(list["total"], 1);
        assert_cli_event(&site.db, "user.deleted", "bob").await;
    }
}
