//! `db_timeout_ms` holds end to end: while another session holds the lock a request needs (a
//! lock on the blacklist table on PostgreSQL, an exclusive transaction on the file on SQLite),
//! the request answers 503 within the bound plus a small margin, and a logout is never answered
//! 200 without being durable.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use rocket::http::Status;

use jwt_blacklist::db::users;

use crate::helpers::{error_code, TestApp, TestDb, ADMIN};

/// Long enough that the test's own arrange steps (sign-up, login), bounded too, do not give up on
/// a loaded two-core machine; short enough to be told apart from "never".
const BOUND_MS: u64 = 1000;
/// Scheduling on a loaded two-core machine, not waiting: the waits themselves are bounded.
const MARGIN: Duration = Duration::from_millis(1000);

fn bound() -> Duration {
    Duration::from_millis(BOUND_MS)
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| f.merge(("db_timeout_ms", BOUND_MS))).await
}

/// Another session, holding until dropped the lock every write to the blacklist needs.
enum LockHolder {
    Sqlite(#[expect(dead_code, reason = "held for its lock")] SqliteConnection),
    Postgres(#[expect(dead_code, reason = "held for its lock")] PgConnection),
}

fn hold_the_blacklist(db: &TestDb) -> LockHolder {
    match db.url.strip_prefix("sqlite://") {
        Some(path) => {
            let mut conn = SqliteConnection::establish(path).expect("open the file");
            conn.batch_execute("BEGIN EXCLUSIVE")
                .expect("exclusive transaction");
            LockHolder::Sqlite(conn)
        }
        None => {
            let mut conn = PgConnection::establish(&db.url).expect("connect");
            conn.batch_execute("BEGIN; LOCK TABLE blacklist IN ACCESS EXCLUSIVE MODE")
                .expect("lock the table");
            LockHolder::Postgres(conn)
        }
    }
}

fn is_postgres(app: &TestApp) -> bool {
    !app.db.url.starts_with("sqlite://")
}

#[rocket::async_test]
async fn a_logout_behind_a_held_lock_answers_503_within_the_bound_and_works_once_it_is_released() {
    let app = spawn().await;
    let token = app.user_token("alice").await;
    let holder = hold_the_blacklist(&app.db);

    let started = Instant::now();
    let res = app.logout(Some(&token)).await;
    let took = started.elapsed();
    assert_eq!(
        error_code(res, Status::ServiceUnavailable).await,
        "service_unavailable",
        "a logout that could not commit is never answered 200"
    );
    assert!(
        took < bound() + MARGIN,
        "answered after {took:?}, bound {BOUND_MS} ms"
    );
    assert!(took >= bound() / 2, "gave up after only {took:?}");

    drop(holder);
    let res = app.logout(Some(&token)).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(app.me(&token).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn health_and_the_database_guard_answer_503_within_the_bound_behind_a_table_lock() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("db_timeout_ms", BOUND_MS))
            .merge(("revocation_check", "database"))
    })
    .await;
    if !is_postgres(&app) {
        // SQLite in WAL mode never blocks readers: only writes can be held up there.
        return;
    }
    let token = app.user_token("alice").await;
    let _holder = hold_the_blacklist(&app.db);

    let started = Instant::now();
    let res = app.client.get("/health").dispatch().await;
    let took = started.elapsed();
    assert_eq!(res.status(), Status::ServiceUnavailable, "/health");
    assert!(took < bound() + MARGIN, "/health answered after {took:?}");

    let started = Instant::now();
    let res = app.me(&token).await;
    let took = started.elapsed();
    assert_eq!(res.status(), Status::ServiceUnavailable, "the guard");
    assert!(took < bound() + MARGIN, "the guard answered after {took:?}");
}

#[rocket::async_test]
async fn every_pooled_connection_waits_on_locks_no_longer_than_the_bound() {
    let app = spawn().await;
    let settings = if is_postgres(&app) {
        app.pool()
            .run(|conn| {
                ["lock_timeout", "statement_timeout"]
                    .into_iter()
                    .map(|name| {
                        // In milliseconds whatever the unit it was set in (`current_setting` says "1s").
                        diesel::sql_query(format!(
                            "SELECT setting AS value FROM pg_settings WHERE name = '{name}'"
                        ))
                        .get_result::<Setting>(conn)
                        .map(|s| s.value)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .expect("the pool answers")
    } else {
        let busy = app
            .pool()
            .run(|conn| {
                diesel::sql_query("PRAGMA busy_timeout")
                    .get_result::<BusyTimeout>(conn)
                    .map(|b| b.timeout.to_string())
            })
            .await
            .expect("the pool answers");
        vec![busy]
    };
    let expected = BOUND_MS.to_string();
    assert!(
        settings.iter().all(|s| *s == expected),
        "{settings:?}, expected {expected}"
    );
}

#[rocket::async_test]
async fn start_up_is_not_bounded_by_db_timeout_ms() {
    // A bound no request can meet: start-up (creating the admin) must still complete, or a
    // loaded machine refuses to start the server at all.
    let app = TestApp::spawn_with(|f| f.merge(("db_timeout_ms", 1))).await;
    let admin = app
        .pool()
        .for_start_up()
        .run(|conn| users::find(conn, ADMIN))
        .await
        .expect("the pool answers")
        .expect("the admin was created at start-up");
    assert_eq!(admin.role, "admin");
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

#[derive(diesel::QueryableByName)]
struct BusyTimeout {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    timeout: i32,
}
