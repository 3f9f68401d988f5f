//! One source of defaults: the binary carries them (`src/config/defaults.toml`), so it behaves
//! the same started from any folder; and the configuration reference in the book gives each of
//! them as the binary has it.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::{eventually, TEST_SECRET};
use crate::instances::{Instance, BINARY};

/// The binary under test: the one cargo built for these tests, or `TEST_SERVER_BINARY` (CI
/// sets it to the release build, whose Rocket defaults differ from a debug build's).
fn binary() -> String {
    std::env::var("TEST_SERVER_BINARY").unwrap_or_else(|_| BINARY.to_owned())
}

#[rocket::async_test]
async fn started_from_an_empty_folder_with_only_rocket_variables_the_binary_keeps_its_defaults() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(binary());
    // Nothing but ROCKET_* variables, and no Rocket.toml in the working folder: as an operator
    // installs the binary. The database is the default one, under this folder.
    cmd.current_dir(folder.path())
        .env_clear()
        .env("ROCKET_PROFILE", "release")
        .env("ROCKET_JWT_SECRET", TEST_SECRET)
        .env("ROCKET_CLI_COLORS", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let server = Instance::spawn(&mut cmd);
    let http = reqwest::Client::new();
    let live = http
        .get(server.url("/health/live"))
        .send()
        .await
        .expect("live");
    assert_eq!(live.status(), StatusCode::OK);
    // log_level = "normal": one line per request (Rocket's release default would be silent).
    let logged = eventually(10, || async {
        server
            .log()
            .lines()
            .any(|l| l.contains("jwt_blacklist::request") && l.contains("/health/live"))
    })
    .await;
    assert!(logged, "no request line at normal:\n{}", server.log());
    // limits.json = "16 KiB" (Rocket's own is 1 MiB): a larger body is refused as too large.
    let big = format!(
        r#"{{"username":"alice","password":"{}"}}"#,
        "x".repeat(20 * 1024)
    );
    let res = http
        .post(server.url("/authenticate"))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .expect("authenticate");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        folder.path().join("data/jwt-blacklist.sqlite3").exists(),
        "the default database_url, relative to the working folder"
    );
}

/// The rows of the configuration table: key, and the text of its default column.
fn reference_rows() -> HashMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/configuration.md");
    let text = std::fs::read_to_string(path).expect("the configuration chapter");
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let key = cells.first()?.trim_start_matches("| ").trim_matches('`');
            Some((key.to_owned(), cells.get(1)?.trim().to_owned()))
        })
        .collect()
}

#[test]
fn the_configuration_reference_gives_every_default_as_the_binary_carries_it() {
    let rows = reference_rows();
    let defaults = jwt_blacklist::config::default_keys();
    assert!(defaults.len() > 30, "{defaults:?}");
    for (key, value) in &defaults {
        match key.split_once(':') {
            Some((profile, key)) => {
                let row = rows.get(key).unwrap_or_else(|| panic!("no row for {key}"));
                assert!(
                    row.contains(&format!("`{value}` ({profile})")),
                    "{key} in {profile}: the reference says {row}, the binary {value}"
                );
            }
            None => assert_eq!(
                rows.get(key.as_str()),
                Some(&format!("`{value}`")),
                "{key}: the binary's default is {value}"
            ),
        }
    }
    for (key, row) in &rows {
        let has_default = defaults
            .iter()
            .any(|(k, _)| k == key || k.ends_with(&format!(":{key}")));
        assert!(
            has_default || row == "(unset)" || key == "cookie_secure",
            "{key} documents the default {row}, which the binary does not carry"
        );
    }
    // The one default that follows the profile rather than the file.
    assert_eq!(
        rows.get("cookie_secure").map(String::as_str),
        Some("`false` (debug), `true` (release)")
    );
    for (profile, secure) in [("debug", false), ("release", true)] {
        let figment = jwt_blacklist::config::defaults()
            .merge(("jwt_secret", TEST_SECRET))
            .select(profile);
        let config = jwt_blacklist::config::AppConfig::from_figment(&figment).expect("valid");
        assert_eq!(config.cookie.secure, secure, "{profile}");
    }
}
