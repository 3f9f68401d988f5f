//! The binary's account and session commands (`jwt-blacklist user ...`, `sessions ...`), run as
//! an operator runs them, on both backends (SQLite always; PostgreSQL when TEST_POSTGRES_URL is
//! set), with the HTTP side served by the real binary too.

mod accounts;
mod beside_a_server;
mod misuse;
mod sessions;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_blacklist::db::audit_events::{self, Filter};
use jwt_blacklist::db::{Db, PoolSettings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{postgres_base_url, TestDb};
use crate::instances::{jwt_from, server, Instance};

/// The databases a test runs on: a SQLite file, and a PostgreSQL database when one is given.
pub(crate) fn backends() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite()];
    dbs.extend(postgres_base_url().map(|base| TestDb::postgres(&base)));
    dbs
}

pub(crate) fn is_sqlite(db: &TestDb) -> bool {
    db.url.starts_with("sqlite:")
}

/// What a command did.
#[derive(Debug)]
pub(crate) struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts exit 0 and gives the output back.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "{self:?}");
        self
    }

    /// Asserts exit 1 (refused) with a message containing `text`, and nothing on stdout.
    pub fn refused(self, text: &str) -> Self {
        assert_eq!(self.code, Some(1), "{self:?}");
        assert!(self.stderr.contains(text), "{self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// Runs the binary with `args` in the server's environment on `db`, `stdin` on its standard
/// input; fails the test if it has not ended within 60 s.
pub(crate) fn cli(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Out {
    run(&mut server(&db.url), args, stdin)
}

pub(crate) fn run(cmd: &mut Command, args: &[&str], stdin: Option<&str>) -> Out {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("run the binary");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{}` did not end within 60 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p| std::fs::read_to_string(p).unwrap_or_default();
    Out {
        code: status.code(),
        stdout: read(&out),
        stderr: read(&err),
    }
}

/// A database, and a server on it for the HTTP side of a test. On SQLite the server must not
/// run while a command writes (it is refused then), so [`Site::cli`] stops it first and
/// [`Site::server`] starts it again; on PostgreSQL it keeps running.
pub(crate) struct Site {
    pub db: TestDb,
    server: Option<Instance>,
    pub http: reqwest::Client,
}

impl Site {
    pub fn new(db: TestDb) -> Self {
        Self {
            db,
            server: None,
            http: reqwest::Client::new(),
        }
    }

    /// The server, started if it is not running. It creates no admin of its own: the
    /// accounts a test has are the ones its commands made.
    pub fn server(&mut self) -> &Instance {
        if self.server.is_none() {
            let mut cmd = server(&self.db.url);
            cmd.env_remove("ROCKET_ADMIN_USERNAME")
                .env_remove("ROCKET_ADMIN_PASSWORD");
            self.server = Some(Instance::spawn(&mut cmd));
        }
        self.server.as_ref().expect("started")
    }

    /// Runs a command that writes.
    pub fn cli(&mut self, args: &[&str], stdin: Option<&str>) -> Out {
        if is_sqlite(&self.db) {
            self.server = None;
        }
        cli(&self.db, args, stdin)
    }

    /// Creates `name` with `password` through the binary.
    pub fn create(&mut self, name: &str, password: &str, role: &str) {
        let line = format!("{password}\n");
        let out = self.cli(
            &["user", "create", name, "--role", role, "--password-stdin"],
            Some(&line),
        );
        assert!(out.ok().stdout.contains(name));
    }

    /// A login over HTTP: its status, and its access token if it succeeded.
    pub async fn login(&mut self, name: &str, password: &str) -> (StatusCode, Option<String>) {
        let url = self.server().url("/authenticate");
        let res = self
            .http
            .post(url)
            .json(&serde_json::json!({ "username": name, "password": password }))
            .send()
            .await
            .expect("login");
        let status = res.status();
        let token = (status == StatusCode::OK).then(|| jwt_from(&res));
        (status, token)
    }

    /// The access token of a successful login.
    pub async fn token(&mut self, name: &str, password: &str) -> String {
        let (status, token) = self.login(name, password).await;
        assert_eq!(status, StatusCode::OK, "login of {name}");
        token.expect("a token")
    }

    /// What `GET /api/me` answers to `token`.
    /// `GET /api/me` with `token` after a change that refuses it: on PostgreSQL the running
    /// server hears of the change by notification, so this polls until it answers 401 or the
    /// bound (`revocation_max_staleness`, 1 s, plus a margin) has passed; the last answer.
    pub async fn me_after_change(&mut self, token: &str) -> StatusCode {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let status = self.me(token).await;
            if status == StatusCode::UNAUTHORIZED || std::time::Instant::now() > deadline {
                return status;
            }
            rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn me(&mut self, token: &str) -> StatusCode {
        let url = self.server().url("/api/me");
        self.http
            .get(url)
            .header("Cookie", format!("jwt={token}"))
            .send()
            .await
            .expect("me")
            .status()
    }
}

/// The session id (`sid`) a token carries.
pub(crate) fn sid_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    claims["sid"].as_str().expect("sid").to_owned()
}

/// The audit trail's (kind, actor, username) triples, oldest first.
pub(crate) async fn events(db: &TestDb) -> Vec<(String, String, Option<String>)> {
    let url = jwt_blacklist::config::DatabaseUrl::parse(&db.url).expect("database url");
    let settings = PoolSettings {
        max_size: 1,
        timeout: Duration::from_secs(10),
    };
    let pool = Db::open_read_only(url, settings).await.expect("open");
    let rows = pool
        .run(|conn| audit_events::page(conn, &Filter::default(), 10_000))
        .await
        .expect("events");
    rows.into_iter()
        .rev()
        .map(|r| (r.kind, r.actor, r.username))
        .collect()
}

/// Asserts that the trail holds a `kind` event about `username` by the actor `cli`.
pub(crate) async fn assert_cli_event(db: &TestDb, kind: &str, username: &str) {
    let all = events(db).await;
    assert!(
        all.iter()
            .any(|(k, a, u)| k == kind && a == "cli" && u.as_deref() == Some(username)),
        "no {kind} event by cli about {username}: {all:?}"
    );
}
