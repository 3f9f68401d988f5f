//! `GET /health`, and the JSON envelope of Rocket's own catchers.

use rocket::http::Status;
use rocket::serde::json::serde_json::json;
use rocket::{get, routes};

use crate::helpers::{error_code, eventually, figment, json_body, TestApp, TestDb};

#[rocket::async_test]
async fn health_is_ok_when_the_database_answers() {
    let app = TestApp::spawn().await;
    let res = app.client.get("/health").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(json_body(res).await, json!({ "status": "ok" }));
}

#[rocket::async_test]
async fn health_is_503_when_the_database_cannot_serve() {
    let app = TestApp::spawn().await;
    app.break_the_blacklist_table().await;
    let res = app.client.get("/health").dispatch().await;
    assert_eq!(
        error_code(res, Status::ServiceUnavailable).await,
        "service_unavailable"
    );
}

/// Makes the database refuse writes to the readiness probe's row (as a full or read-only disk
/// refuses every write), or take them again.
async fn refuse_writes(app: &TestApp, refuse: bool) {
    use diesel::connection::SimpleConnection;
    let postgres = crate::helpers::postgres_base_url().is_some();
    let sql = match (postgres, refuse) {
        (false, true) => {
            "CREATE TRIGGER refuse_writes BEFORE UPDATE ON health_probe \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
        }
        (false, false) => "DROP TRIGGER refuse_writes;",
        (true, true) => {
            "CREATE FUNCTION refuse_writes() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_writes BEFORE UPDATE ON health_probe \
             FOR EACH ROW EXECUTE FUNCTION refuse_writes();"
        }
        (true, false) => "DROP TRIGGER refuse_writes ON health_probe;",
    };
    app.pool()
        .run(move |conn| conn.batch_execute(sql))
        .await
        .expect("trigger");
}

async fn health(app: &TestApp) -> Status {
    app.client.get("/health").dispatch().await.status()
}

#[rocket::async_test]
async fn health_is_503_within_5_s_while_the_database_refuses_writes_and_200_once_it_takes_them() {
    let app = TestApp::spawn().await;
    assert_eq!(health(&app).await, Status::Ok);
    refuse_writes(&app, true).await;
    let started = std::time::Instant::now();
    let refused = eventually(5, || async {
        health(&app).await == Status::ServiceUnavailable
    })
    .await;
    assert!(refused, "still ready after {:?}", started.elapsed());
    let res = app.client.get("/health").dispatch().await;
    assert_eq!(
        error_code(res, Status::ServiceUnavailable).await,
        "service_unavailable"
    );
    refuse_writes(&app, false).await;
    assert!(eventually(5, || async { health(&app).await == Status::Ok }).await);
}

#[rocket::async_test]
async fn unknown_routes_answer_a_json_404() {
    let app = TestApp::spawn().await;
    let res = app.client.get("/no/such/thing").dispatch().await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
}

#[rocket::async_test]
async fn a_method_the_path_does_not_serve_is_a_405_naming_the_ones_it_does() {
    let app = TestApp::spawn().await;
    let res = app.client.delete("/api/me").dispatch().await;
    assert_eq!(res.headers().get_one("Allow"), Some("GET"));
    assert_eq!(
        error_code(res, Status::MethodNotAllowed).await,
        "method_not_allowed"
    );
    let res = app.client.put("/api/users/alice").dispatch().await;
    assert_eq!(res.headers().get_one("Allow"), Some("DELETE, GET, PATCH"));
    assert_eq!(res.status(), Status::MethodNotAllowed);
    let res = app.client.put("/no/such/thing").dispatch().await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
}

#[get("/boom")]
fn boom() -> &'static str {
    panic!("a handler bug")
}

#[rocket::async_test]
async fn a_panicking_handler_answers_a_json_500() {
    let db = TestDb::new();
    let app = TestApp::spawn_rocket(db, |db| {
        jwt_blacklist::rocket_from(figment(db)).mount("/test", routes![boom])
    })
    .await;
    let res = app.client.get("/test/boom").dispatch().await;
    assert_eq!(
        error_code(res, Status::InternalServerError).await,
        "internal_error"
    );
}

#[derive(diesel::QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

#[derive(diesel::QueryableByName)]
struct BusyTimeout {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    timeout: i32,
}

#[rocket::async_test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn_on(TestDb::sqlite(), |f| f).await;
    let (mode, timeout) = app
        .pool()
        .run(|conn| {
            let mode = diesel::sql_query("PRAGMA journal_mode").get_result::<JournalMode>(conn)?;
            let timeout =
                diesel::sql_query("PRAGMA busy_timeout").get_result::<BusyTimeout>(conn)?;
            Ok((mode.journal_mode, timeout.timeout))
        })
        .await
        .expect("pragmas");
    assert_eq!(mode, "wal");
    assert!(timeout >= 1000, "busy_timeout {timeout}");
}

#[derive(diesel::QueryableByName)]
struct WalAutocheckpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    wal_autocheckpoint: i32,
}

/// The checkpoint runs on the thread that commits logouts: at SQLite's default (1 000 pages) it
/// was 7 % of a logout storm's CPU.
#[rocket::async_test]
async fn sqlite_checkpoints_its_wal_every_ten_thousand_pages() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn_on(TestDb::sqlite(), |f| f).await;
    let pages = app
        .pool()
        .run(|conn| {
            diesel::sql_query("PRAGMA wal_autocheckpoint").get_result::<WalAutocheckpoint>(conn)
        })
        .await
        .expect("pragma");
    assert_eq!(pages.wal_autocheckpoint, 10_000);
}
