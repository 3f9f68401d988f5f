//! A rolling restart of two instances on one PostgreSQL database, from `[A]` to
//! `[A, B signing from T]` to `[B, A verify-only]` to `[B]`, with logins and `/api/me` on both
//! instances throughout: no token is refused while its key is listed, and A's tokens are
//! refused exactly where A is gone.

use reqwest::StatusCode;
use time::OffsetDateTime;

use super::binary::keyed;
use super::{header_of, pem, rfc3339};
use crate::helpers::{eventually, postgres_base_url, TestDb, ADMIN, ADMIN_PASSWORD};
use crate::instances::{jwt_from, Instance};

const A_SECRET: &str = "the-rolling-restart-key-a-0123456789abcdef";

struct Node {
    instance: Instance,
    /// Whether key A is configured on it.
    has_a: bool,
}

fn start(url: &str, keys: &[&str]) -> Node {
    Node {
        instance: Instance::spawn(&mut keyed(url, &format!("[{}]", keys.join(",")))),
        has_a: keys.iter().any(|k| k.contains("kid=\"A\"")),
    }
}

/// Logs in on every running node, then presents every token issued so far to every running
/// node: accepted unless its key is A and the node no longer has A.
async fn round(http: &reqwest::Client, nodes: &[&Node], tokens: &mut Vec<String>) {
    for node in nodes {
        let login = http
            .post(node.instance.url("/authenticate"))
            .json(&serde_json::json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), StatusCode::OK, "{}", node.instance.log());
        tokens.push(jwt_from(&login));
    }
    for node in nodes {
        for token in tokens.iter() {
            let status = http
                .get(node.instance.url("/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .expect("me")
                .status();
            let kid = header_of(token)["kid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let expected = if kid == "A" && !node.has_a {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            };
            assert_eq!(
                status, expected,
                "a token of {kid} on a node with A: {}",
                node.has_a
            );
        }
    }
}

#[rocket::async_test]
async fn a_rolling_restart_through_a_rotation_refuses_no_token_it_should_accept() {
    let Some(_) = postgres_base_url() else { return };
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("dir");
    let b_file = dir.path().join("b.pem");
    std::fs::write(&b_file, pem(11)).expect("write");
    // Time enough for the four starts and eight logins below before B signs, even on a loaded
    // machine (they take about 3 s here); the test checks that they were done in time.
    let switch = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time")
        + time::Duration::seconds(30);
    let a = format!("{{kid=\"A\",alg=\"HS256\",secret=\"{A_SECRET}\"}}");
    let b = format!(
        "{{kid=\"B\",alg=\"EdDSA\",private_key_file=\"{}\",sign_from=\"{}\"}}",
        b_file.display(),
        rfc3339(switch)
    );
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();

    let one = start(&db.url, &[&a]);
    let two = start(&db.url, &[&a]);
    round(&http, &[&one, &two], &mut tokens).await;

    // Step 1: every instance learns B, one at a time, before B's sign_from.
    drop(one);
    round(&http, &[&two], &mut tokens).await;
    let one = start(&db.url, &[&a, &b]);
    round(&http, &[&one, &two], &mut tokens).await;
    drop(two);
    round(&http, &[&one], &mut tokens).await;
    let two = start(&db.url, &[&a, &b]);
    round(&http, &[&one, &two], &mut tokens).await;
    assert!(
        OffsetDateTime::now_utc() < switch,
        "the restarts took longer than the margin before sign_from"
    );
    assert!(tokens.iter().all(|t| header_of(t)["kid"] == "A"));

    // Step 2: at sign_from both switch to B, with no restart.
    assert!(eventually(60, || async { OffsetDateTime::now_utc() >= switch }).await);
    round(&http, &[&one, &two], &mut tokens).await;
    let fresh = &tokens[tokens.len() - 2..];
    assert!(
        fresh.iter().all(|t| header_of(t)["kid"] == "B"),
        "both sign with B"
    );

    // Step 3: B first, A verify-only (the same keys, listed the other way round).
    drop(one);
    let one = start(&db.url, &[&b, &a]);
    round(&http, &[&one, &two], &mut tokens).await;

    // Step 4: A goes, one instance at a time: A's tokens are refused where A is gone.
    drop(one);
    let one = start(&db.url, &[&b]);
    round(&http, &[&one, &two], &mut tokens).await;
    drop(two);
    let two = start(&db.url, &[&b]);
    round(&http, &[&one, &two], &mut tokens).await;
    let a_tokens = tokens.iter().filter(|t| header_of(t)["kid"] == "A").count();
    assert!(
        a_tokens >= 8,
        "A's tokens were presented throughout: {a_tokens}"
    );
}
