//! `backup` during a logout storm on a running SQLite server: every logout answered before the
//! backup started is in the copy, the copy is a sound database, and the server kept answering.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::sql_types::Text;
use diesel::{Connection, QueryDsl, QueryableByName, RunQueryDsl, SqliteConnection};
use reqwest::StatusCode;

use super::run;
use crate::helpers::TestDb;
use crate::instances::{jwt_from, note, server, Instance};

/// Clients logging in and out at once.
const CLIENTS: usize = 6;

const PASSWORD: &str = "storm-password-123";

/// One logout: which client, its token's id, its answer, when its cycle began (the login was
/// sent), when it was sent and answered.
struct Logout {
    client: usize,
    jti: String,
    status: StatusCode,
    cycle: Instant,
    sent: Instant,
    answered: Instant,
}

/// The `jti` claim of a JWT, read from its payload.
fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["jti"].as_str().expect("a jti").to_owned()
}

/// Logs in and out until `stop`, recording every logout; a failed login is recorded as a
/// logout with that status (and no id), so that the test sees it.
async fn client(base: String, user: usize, stop: Arc<AtomicBool>, log: Arc<Mutex<Vec<Logout>>>) {
    let http = reqwest::Client::new();
    // A user of its own: concurrent logins of one user from one address would count against
    // that user's failure budget while they are in progress.
    let credentials =
        serde_json::json!({ "username": format!("storm{user}"), "password": PASSWORD });
    let signed_up = http
        .post(format!("{base}/api/users"))
        .json(&credentials)
        .send()
        .await
        .expect("sign up");
    assert_eq!(signed_up.status(), StatusCode::CREATED);
    while !stop.load(Ordering::SeqCst) {
        let cycle = Instant::now();
        let login = http
            .post(format!("{base}/authenticate"))
            .json(&credentials)
            .send()
            .await
            .expect("login");
        if login.status() != StatusCode::OK {
            let (status, answered) = (login.status(), Instant::now());
            let jti = String::new();
            log.lock().expect("log").push(Logout {
                client: user,
                jti,
                status,
                cycle,
                sent: cycle,
                answered,
            });
            continue;
        }
        let token = jwt_from(&login);
        let sent = Instant::now();
        let logout = http
            .post(format!("{base}/blacklist/logout"))
            .header("Cookie", format!("jwt={token}"))
            .send()
            .await
            .expect("logout");
        let answered = Instant::now();
        log.lock().expect("log").push(Logout {
            client: user,
            cycle,
            jti: jti_of(&token),
            status: logout.status(),
            sent,
            answered,
        });
    }
}

/// Waits until `log` holds `n` logouts answered after `after`, or 30 s pass.
async fn answered_after(log: &Mutex<Vec<Logout>>, after: Instant, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while log
        .lock()
        .expect("log")
        .iter()
        .filter(|l| l.answered > after)
        .count()
        < n
    {
        assert!(Instant::now() < deadline, "the storm stalled");
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Audit events put in before the storm, about 1 KiB each.
const FILLER_ROWS: u32 = 50_000;

/// Fills the audit trail, which the server does not load at start, with events dated in the
/// future (so that the retention purge leaves them).
fn fill(db: &TestDb, rows: u32) {
    let path = db.url.strip_prefix("sqlite://").expect("sqlite");
    let mut conn = SqliteConnection::establish(path).expect("open");
    diesel::sql_query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
         INSERT INTO audit_events (at, kind, actor, detail) \
         SELECT '2100-01-01 00:00:00', 'filler', 'system', printf('{{\"n\":\"%01000d\"}}', i) \
         FROM n"
    ))
    .execute(&mut conn)
    .expect("fill the audit trail");
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[rocket::async_test]
async fn a_backup_during_a_logout_storm_holds_every_logout_answered_before_it() {
    let db = TestDb::sqlite();
    // Enough data that the copy takes a while, so that logouts overlap it for sure.
    drop(Instance::start(&db.url));
    fill(&db, FILLER_ROWS);
    let server = Instance::spawn(
        server(&db.url)
            .env("ROCKET_LOGIN_MAX_PER_IP", "1000000")
            .env("ROCKET_PASSWORD_MAX_IN_FLIGHT_PER_IP", "64"),
    );
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("backup.sqlite3");
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|user| {
            let base = server.url("");
            rocket::tokio::spawn(client(base, user, stop.clone(), log.clone()))
        })
        .collect();

    answered_after(&log, start, 2 * CLIENTS).await;
    let mut backup = super::command(&db.url, &["backup", file.to_str().expect("utf-8")]);
    let backup_started = Instant::now();
    let (code, stdout, stderr) = rocket::tokio::task::spawn_blocking(move || run(&mut backup))
        .await
        .expect("backup");
    let backup_ended = Instant::now();
    answered_after(&log, backup_ended, 2 * CLIENTS).await;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("client");
    }

    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let size = std::fs::metadata(&file).expect("the copy").len();
    assert_eq!(stdout, format!("wrote {} ({size} bytes)\n", file.display()));
    let log = log.lock().expect("log");
    let failed: Vec<StatusCode> = log
        .iter()
        .map(|l| l.status)
        .filter(|s| *s != StatusCode::OK)
        .collect();
    assert!(failed.is_empty(), "not every answer was 200: {failed:?}");
    let during = log
        .iter()
        .filter(|l| l.sent < backup_ended && l.answered > backup_started)
        .count();
    note(&format!(
        "backup took {:?} ({size} bytes) amid {} logouts; {during} were in flight during it",
        backup_ended - backup_started,
        log.len()
    ));
    // The storm went on through the backup, every answer 200, and after it (see
    // `answered_after`). A client's logouts are at most one cycle (a login, then a logout)
    // apart, so one that logged out before and after a backup longer than any cycle had a
    // logout in flight during it: then this cannot fail by bad luck, only if the server stalled.
    let took = backup_ended - backup_started;
    let longest = log.iter().map(|l| l.answered - l.cycle).max();
    let spanning = (0..CLIENTS).any(|c| {
        log.iter()
            .any(|l| l.client == c && l.answered < backup_started)
            && log.iter().any(|l| l.client == c && l.sent > backup_ended)
    });
    if spanning && longest.is_some_and(|longest| took > longest) {
        assert!(during > 0, "no logout was in flight while the backup ran");
    } else {
        note(&format!(
            "the backup was shorter than a cycle ({longest:?})"
        ));
    }
    let before: HashSet<&str> = log
        .iter()
        .filter(|l| l.answered < backup_started)
        .map(|l| l.jti.as_str())
        .collect();
    assert!(before.len() >= 2 * CLIENTS, "{}", before.len());

    let mut copy = SqliteConnection::establish(file.to_str().expect("utf-8")).expect("open");
    let check: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut copy)
        .expect("integrity_check");
    let verdict: Vec<&str> = check.iter().map(|c| c.integrity_check.as_str()).collect();
    assert_eq!(verdict, ["ok"]);
    use jwt_blacklist::db::schema::blacklist;
    let revoked: HashSet<String> = blacklist::table
        .select(blacklist::jti)
        .load::<String>(&mut copy)
        .expect("blacklist")
        .into_iter()
        .collect();
    let missing: Vec<&&str> = before.iter().filter(|j| !revoked.contains(**j)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} logouts answered before the backup are not in it: {missing:?}",
        missing.len(),
        before.len()
    );
}
