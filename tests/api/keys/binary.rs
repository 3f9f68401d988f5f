//! The real binary: `keys generate`, the environment form of `signing_keys`, and start-up
//! refusals with their messages.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use super::{header_of, SERVER_SECRET};
use crate::helpers::{TestDb, ADMIN, ADMIN_PASSWORD};
use crate::instances::{failed_start, jwt_from, server, Instance, BINARY};

/// The server binary on `url` with `signing_keys` set to `keys` (the environment form) and a
/// server secret, instead of `jwt_secret`.
pub(super) fn keyed(url: &str, keys: &str) -> Command {
    let mut cmd = server(url);
    cmd.env_remove("ROCKET_JWT_SECRET")
        .env("ROCKET_SERVER_SECRET", SERVER_SECRET)
        .env("ROCKET_SIGNING_KEYS", keys);
    cmd
}

fn generate(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BINARY)
        .args(["keys", "generate"])
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `signing_keys` entry `keys generate` printed, read as TOML.
fn entry(line: &str) -> serde_json::Map<String, Value> {
    use rocket::figment::providers::{Format, Toml};
    rocket::figment::Figment::from(Toml::string(&format!("key = {line}")))
        .extract_inner("key")
        .expect("a TOML inline table")
}

#[rocket::async_test]
async fn keys_generate_prints_an_eddsa_key_and_the_line_a_server_starts_with() {
    let (code, stdout, stderr) = generate(&["--alg", "EdDSA", "--kid", "ci-2026"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "nothing else: {stderr}");
    let (pem, line) = stdout
        .split_once("-----END PRIVATE KEY-----\n")
        .map(|(key, rest)| (format!("{key}-----END PRIVATE KEY-----\n"), rest.trim()))
        .expect("a PKCS#8 PEM");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{stdout}");
    assert_eq!(line.lines().count(), 1, "then one line: {stdout}");
    let key = entry(line);
    assert_eq!(key["kid"].as_str(), Some("ci-2026"));
    assert_eq!(key["alg"].as_str(), Some("EdDSA"));
    assert_eq!(
        key["private_key_file"].as_str(),
        Some("/etc/jwt-blacklist/ci-2026.pem")
    );

    // The whole output redirected into the key file (the line after the key is ignored), and
    // the environment form of the docs.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ci-2026.pem");
    std::fs::write(&file, &stdout).expect("save the key");
    let db = TestDb::new();
    let server = Instance::spawn(&mut keyed(
        &db.url,
        &format!(
            "[{{kid=\"ci-2026\",alg=\"EdDSA\",private_key_file=\"{}\"}}]",
            file.display()
        ),
    ));
    let http = reqwest::Client::new();
    let login = http
        .post(server.url("/authenticate"))
        .json(&serde_json::json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK, "{}", server.log());
    let token = jwt_from(&login);
    assert_eq!(header_of(&token)["kid"], "ci-2026");
    assert_eq!(header_of(&token)["alg"], "EdDSA");
    let jwks: Value = http
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let public = ed25519_dalek::pkcs8::DecodePrivateKey::from_pkcs8_pem(&pem)
        .map(|k: ed25519_dalek::SigningKey| k.verifying_key().to_bytes())
        .expect("the printed key parses");
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
    assert_eq!(jwks["keys"][0]["x"], x.as_str());
    assert_eq!(jwks["keys"][0]["kid"], "ci-2026");
    let log = server.log();
    assert!(
        !log.contains(pem.lines().nth(1).unwrap_or("-")),
        "no key in the log"
    );
}

#[test]
fn keys_generate_prints_a_fresh_hs256_secret_and_refuses_misuse() {
    let (code, first, _) = generate(&["--alg", "HS256", "--kid", "h1"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 2, "{first}");
    let secret = lines[0];
    assert!(secret.len() >= 32, "{secret}");
    let key = entry(lines[1]);
    assert_eq!(key["secret"].as_str(), Some(secret));
    assert_eq!(key["alg"].as_str(), Some("HS256"));
    assert_eq!(key["kid"].as_str(), Some("h1"));
    let (_, second, _) = generate(&["--alg", "HS256"]);
    assert_ne!(
        second.lines().next(),
        Some(secret),
        "a new secret each time"
    );
    let kid = entry(second.lines().nth(1).unwrap_or_default());
    assert!(
        kid["kid"].as_str().is_some_and(|k| k.len() > 10),
        "a default kid"
    );
    for misuse in [
        &["--alg", "RS256"][..],
        &[],
        &["--alg", "HS256", "--kid", "a b"],
    ] {
        let (code, stdout, stderr) = generate(misuse);
        assert_eq!(code, Some(2), "{misuse:?}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn start_up_refusals_name_the_setting_and_the_file_never_the_key() {
    let db = TestDb::sqlite();
    let text = failed_start(server(&db.url).env(
        "ROCKET_SIGNING_KEYS",
        "[{kid=\"a\",alg=\"EdDSA\",private_key=\"x\"}]",
    ));
    assert!(text.contains("not both"), "{text}");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("broken.pem");
    let body = "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LWF0LWFsbC1ub3QtYS1rZXk=\n-----END PRIVATE KEY-----\n";
    std::fs::write(&file, body).expect("write");
    let text = failed_start(&mut keyed(
        &db.url,
        &format!(
            "[{{kid=\"a\",alg=\"EdDSA\",private_key_file=\"{}\"}}]",
            file.display()
        ),
    ));
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(!text.contains("bm90LWEta2V5"), "{text}");
    assert!(!text.contains(SERVER_SECRET), "{text}");

    // A malformed environment value (a missing `]`) reaches the parser as one string: the
    // secret in it is not quoted back.
    let secret = "an-hs256-secret-that-must-not-be-echoed-0123";
    let text = failed_start(&mut keyed(
        &db.url,
        &format!("[{{kid=\"a\",alg=\"HS256\",secret=\"{secret}\"}}"),
    ));
    assert!(text.contains("signing_keys"), "{text}");
    assert!(!text.contains(secret), "{text}");
}
