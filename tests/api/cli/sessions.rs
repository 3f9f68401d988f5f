//! `sessions list|end`, on both backends: sessions made by HTTP logins are listed, and ended by
//! id or all at once.

use reqwest::StatusCode;

use super::{assert_cli_event, backends, cli, sid_of, Site};

#[rocket::async_test]
async fn sessions_of_http_logins_are_listed_and_end_by_id_or_all_at_once() {
    for db in backends() {
        let mut site = Site::new(db);
        site.create("alice", "alice-password-1", "user");
        let first = site.token("alice", "alice-password-1").await;
        let second = site.token("alice", "alice-password-1").await;
        // Read beside the running server (on SQLite too).
        let listed = cli(&site.db, &["sessions", "list", "alice", "--json"], None)
            .ok()
            .json();
        assert_eq!(listed["username"], "alice");
        assert_eq!(listed["role"], "user");
        let mut ids: Vec<String> = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        let mut expected = vec![sid_of(&first), sid_of(&second)];
        expected.sort();
        assert_eq!(ids, expected);
        let table = cli(&site.db, &["sessions", "list", "alice"], None)
            .ok()
            .stdout;
        assert!(table.starts_with("ID"), "{table}");
        assert!(
            table.contains(&sid_of(&first)) && table.contains(&sid_of(&second)),
            "{table}"
        );
        for secret in [&first, &second] {
            assert!(!table.contains(secret.as_str()), "a token was printed");
        }

        let out = site.cli(&["sessions", "end", &sid_of(&first)], None).ok();
        assert!(out.stdout.contains("ended"), "{out:?}");
        assert_eq!(site.me_after_change(&first).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            site.me(&second).await,
            StatusCode::OK,
            "only that session ended"
        );
        site.cli(&["sessions", "end", &sid_of(&first)], None)
            .refused("no live session");
        site.cli(&["sessions", "end", "not-a-uuid"], None)
            .refused("no live session");

        let out = site.cli(&["sessions", "end", "--user", "alice"], None).ok();
        assert!(
            out.stdout.contains("1 session(s) of alice ended"),
            "{out:?}"
        );
        assert_eq!(
            site.me_after_change(&second).await,
            StatusCode::UNAUTHORIZED
        );
        let listed = cli(&site.db, &["sessions", "list", "alice", "--json"], None)
            .ok()
            .json();
        assert_eq!(listed["items"], serde_json::json!([]));
        site.cli(&["sessions", "end", "--user", "nobody"], None)
            .refused("no user nobody");
        cli(&site.db, &["sessions", "list", "nobody"], None).refused("no user nobody");
        assert_cli_event(&site.db, "session.ended", "alice").await;
        assert_cli_event(&site.db, "logout_all", "alice").await;
    }
}
