//! The NDJSON export of the audit trail streams: 100 000 events (about 70 MB of lines) go out
//! while the process's heap grows by a bounded amount, far less than the export's size.
//!
//! A binary of its own, with one test, so that the process's peak resident size (`VmHWM`, reset
//! before the export) belongs to this export alone: the server runs in-process, and the test
//! reads the body a chunk at a time and keeps none of it.

// The integration suite's database per test (SQLite, or PostgreSQL with TEST_POSTGRES_URL) and
// its settings; the rest of its helpers are unused here.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use rocket::tokio::io::AsyncReadExt;

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map(|kb| kb * 1024)
        .expect("the field")
}

/// Resets the process's peak resident size (`VmHWM`) to its current one (Linux 4.0 and later).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

const EVENTS: usize = 100_000;
/// The growth of resident memory allowed while exporting: a few batches of rows and lines in flight.
const BOUND: usize = 24 * 1024 * 1024;

/// Inserts the events in one statement (rows of about 700 bytes once exported).
fn insert_events_sql(postgres: bool) -> String {
    let agent = "Mozilla/5.0 (X11; Linux x86_64) ".repeat(7);
    let note = "x".repeat(200);
    let numbers = match postgres {
        true => format!("SELECT generate_series(1, {EVENTS}) AS i"),
        false => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS}) \
             SELECT i FROM n"
        ),
    };
    format!(
        "INSERT INTO audit_events (at, kind, actor, username, session_id, ip, user_agent, detail, count) \
         SELECT CURRENT_TIMESTAMP, 'login.failed', 'user' || i, 'user' || i, \
                '00000000-0000-4000-8000-' || lpad_i, '203.0.113.200', \
                '{agent}', '{{\"reason\":\"invalid_credentials\",\"note\":\"{note}\"}}', 1 \
         FROM (SELECT i, substr('000000000000' || i, length('000000000000' || i) - 11) AS lpad_i \
               FROM ({numbers}) AS numbers) AS rows"
    )
}

#[rocket::async_test]
async fn an_ndjson_export_of_100_000_events_streams_in_bounded_memory() {
    use diesel::RunQueryDsl;
    let db = helpers::TestDb::new();
    let figment = helpers::figment(&db);
    let client = Client::untracked(jwt_blacklist::rocket_from(figment))
        .await
        .expect("the server ignites");
    let app = client
        .rocket()
        .state::<jwt_blacklist::app::App>()
        .expect("App");
    let postgres = app.db.is_postgres();
    let inserted = app
        .db
        .for_start_up()
        .run(move |conn| diesel::sql_query(insert_events_sql(postgres)).execute(conn))
        .await
        .expect("insert events");
    assert_eq!(inserted, EVENTS);
    let login = client
        .post("/authenticate")
        .header(ContentType::JSON)
        .body(
            serde_json::json!({"username": helpers::ADMIN, "password": helpers::ADMIN_PASSWORD})
                .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(login.status(), Status::Ok);
    let jwt = login.cookies().get("jwt").expect("jwt").value().to_owned();

    reset_peak();
    let baseline = status_bytes("VmRSS");
    let mut res = client
        .get("/audit?kind=login.failed")
        .cookie(rocket::http::Cookie::new("jwt", jwt))
        .header(Header::new("Accept", "application/x-ndjson"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let (mut lines, mut bytes) = (0usize, 0usize);
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = Vec::new();
    loop {
        let n = res.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        if first.len() < 4096 {
            first.extend_from_slice(&buf[..n.min(4096)]);
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        bytes += n;
    }
    let growth = status_bytes("VmHWM").saturating_sub(baseline);
    println!(
        "exported {lines} events, {} MB, resident peak +{:.1} MB",
        bytes / 1_000_000,
        growth as f64 / 1e6
    );
    assert_eq!(lines, EVENTS, "every event, one per line");
    let head = String::from_utf8_lossy(&first);
    let line = head.lines().next().expect("a first line");
    let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON object");
    assert_eq!(parsed["kind"], "login.failed");
    assert!(
        bytes > 2 * BOUND,
        "the export ({bytes} bytes) is larger than twice the bound"
    );
    assert!(
        growth < BOUND,
        "the export held {growth} bytes at its peak: it is buffered, not streamed"
    );
}
