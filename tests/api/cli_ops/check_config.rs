//! `check-config`: the effective settings with secrets hidden, the start-up message for a bad
//! one, and no database touched.

use std::path::Path;

use reqwest::StatusCode;

use super::{command, run};
use crate::helpers::{TestDb, ADMIN_PASSWORD, TEST_SECRET};
use crate::instances::{failed_start, server, Instance};

fn sqlite_file(db: &TestDb) -> &Path {
    Path::new(db.url.strip_prefix("sqlite://").expect("a sqlite url"))
}

#[test]
fn check_config_prints_every_setting_with_secrets_as_set_and_opens_no_database() {
    let db = TestDb::sqlite();
    let (code, stdout, stderr) = run(&mut command(&db.url, &["check-config"]));
    assert_eq!(code, Some(0), "{stderr}");
    for line in stdout.lines() {
        let (name, value) = line.split_once(" = ").expect("name = value");
        assert!(!name.is_empty() && !value.is_empty(), "{line}");
    }
    for expected in [
        format!("database_url = {}", db.url),
        "jwt_secret = <set>".to_owned(),
        "admin_username = admin".to_owned(),
        "admin_password = <set>".to_owned(),
        "server_secret = <unset>".to_owned(),
        "metrics_token = <unset>".to_owned(),
        "purge_schedule = * * * * * *".to_owned(),
        "jwt_issuer = jwt-blacklist-test".to_owned(),
        "token_ttl = 3600".to_owned(),
        "revocation_check = memory".to_owned(),
        "profile = debug".to_owned(),
        "session_idle_timeout = 604800".to_owned(),
        "session_max_lifetime = 2592000".to_owned(),
        "session_max_lifetime_unremembered = 43200".to_owned(),
    ] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "no `{expected}` in:\n{stdout}"
        );
    }
    // Every setting that has a default is shown (a new one cannot be forgotten here).
    let shown: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(n, _)| n)
        .collect();
    let mut section = "";
    for line in jwt_blacklist::config::DEFAULTS.lines() {
        if let Some(table) = line
            .strip_prefix("[default")
            .and_then(|t| t.strip_suffix(']'))
        {
            section = table.trim_start_matches('.');
            continue;
        }
        let Some((name, _)) = line.split_once(" = ") else {
            continue;
        };
        let name = match section {
            "" => name.to_owned(),
            table => format!("{table}.{name}"),
        };
        assert!(
            shown.contains(&name.as_str()),
            "`{name}` is not shown:\n{stdout}"
        );
    }
    let keys = stdout
        .lines()
        .find(|l| l.starts_with("signing_keys = "))
        .expect("signing_keys");
    assert!(
        keys.contains("alg = HS256") && keys.contains("key = <set>"),
        "{keys}"
    );
    for output in [&stdout, &stderr] {
        assert!(
            !output.contains(TEST_SECRET),
            "the secret is shown: {output}"
        );
        assert!(
            !output.contains(ADMIN_PASSWORD),
            "the password is shown: {output}"
        );
    }
    assert!(
        !sqlite_file(&db).exists(),
        "check-config created the database"
    );

    let (code, stdout, stderr) = run(&mut command(&db.url, &["check-config", "--json"]));
    assert_eq!(code, Some(0), "{stderr}");
    let settings: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(settings["jwt_secret"], "<set>");
    assert_eq!(settings["admin_password"], "<set>");
    assert_eq!(settings["metrics_token"], serde_json::Value::Null);
    assert_eq!(settings["token_ttl"], 3600);
    assert_eq!(settings["signing_keys"][0]["key"], "<set>");
    assert!(!stdout.contains(TEST_SECRET) && !stdout.contains(ADMIN_PASSWORD));
}

#[test]
fn check_config_hides_the_password_of_a_postgres_url_and_does_not_connect() {
    // Port 1: nobody listens; check-config must not try.
    let url = "postgres://app:hunter2-secret@127.0.0.1:1/sessions?password=hunter3-secret";
    let (code, stdout, stderr) = run(command(url, &["check-config"])
        .env("ROCKET_METRICS_TOKEN", "metrics-token-0123456789-abcdef"));
    assert_eq!(code, Some(0), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("database_url = "))
        .expect("database_url");
    assert!(
        line.starts_with("database_url = postgres://app:<set>@127.0.0.1:1/sessions?password=<set>"),
        "{line}"
    );
    assert!(
        stdout.lines().any(|l| l == "metrics_token = <set>"),
        "{stdout}"
    );
    for output in [&stdout, &stderr] {
        for secret in [
            "hunter2-secret",
            "hunter3-secret",
            "metrics-token-0123456789",
        ] {
            assert!(!output.contains(secret), "{secret} is shown: {output}");
        }
    }
}

#[test]
fn check_config_refuses_what_start_up_refuses_with_the_same_message() {
    let db = TestDb::sqlite();
    let cases = [
        (
            "ROCKET_PURGE_SCHEDULE",
            "nope",
            "purge_schedule `nope` is not a valid cron",
        ),
        (
            "ROCKET_JWT_SECRET",
            "too-short",
            "jwt_secret must be at least",
        ),
        (
            "ROCKET_REVOCATION_CHECK",
            "sometimes",
            "revocation_check must be memory or database",
        ),
        (
            "ROCKET_WEBAUTHN_ORIGIN",
            "https://elsewhere.example",
            "webauthn_rp_id and webauthn_origin do not go together",
        ),
    ];
    for (key, value, phrase) in cases {
        let (code, stdout, stderr) = run(command(&db.url, &["check-config"]).env(key, value));
        assert_eq!(code, Some(1), "{key}={value}: {stdout}{stderr}");
        assert!(stderr.contains(phrase), "{key}={value}: {stderr}");
        assert!(
            stdout.is_empty(),
            "{key}={value}: no settings printed: {stdout}"
        );
        assert!(!stderr.contains(TEST_SECRET) && !stderr.contains(ADMIN_PASSWORD));
        let started = failed_start(server(&db.url).env(key, value));
        assert!(
            started.contains(stderr.trim()),
            "{key}={value}: start-up said otherwise than `{}`:\n{started}",
            stderr.trim()
        );
    }
    assert!(
        !sqlite_file(&db).exists(),
        "check-config created the database"
    );
}

#[rocket::async_test]
async fn check_config_runs_beside_a_running_sqlite_server() {
    let db = TestDb::sqlite();
    let server = Instance::start(&db.url);
    let (code, stdout, stderr) = run(&mut command(&db.url, &["check-config"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("database_url = sqlite://"), "{stdout}");
    let health = reqwest::get(server.url("/health")).await.expect("health");
    assert_eq!(health.status(), StatusCode::OK, "the server is undisturbed");
}
