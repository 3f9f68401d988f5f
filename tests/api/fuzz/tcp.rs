//! Hostile header bytes over a real TCP socket: Rocket's local client only sends UTF-8 header
//! values, so the bytes 0x80-0xFF and control characters go through hyper here, to a server
//! launched in-process on a free port of 127.0.0.1.

use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use rocket::fairing::AdHoc;
use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;
use rocket::tokio::sync::oneshot;
use rocket::tokio::time::timeout;
use rocket::Shutdown;

use super::{check, runtime};
use crate::helpers::{figment, TestDb};

/// The server answering on `port` until `shutdown` is notified.
struct Live {
    port: u16,
    shutdown: Shutdown,
    _db: TestDb,
}

async fn launch() -> Live {
    let db = TestDb::new();
    let (tx, rx) = oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let config = figment(&db)
        .merge(("address", "127.0.0.1"))
        .merge(("port", 0))
        .merge(("shutdown.ctrlc", false))
        .merge(("shutdown.signals", Vec::<String>::new()))
        .merge(("shutdown.grace", 0))
        .merge(("shutdown.mercy", 0));
    let rocket = jwt_blacklist::rocket_from(config).attach(AdHoc::on_liftoff("port", move |r| {
        Box::pin(async move {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send((r.config().port, r.shutdown()));
            }
        })
    }));
    rocket::tokio::spawn(rocket.launch());
    let (port, shutdown) = timeout(Duration::from_secs(30), rx)
        .await
        .expect("the server launches within 30 s")
        .expect("the server reports its port");
    Live {
        port,
        shutdown,
        _db: db,
    }
}

/// Sends `request` on a new connection and reads until the server closes it.
async fn exchange(port: u16, request: &[u8]) -> Result<Vec<u8>, String> {
    let io = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(request).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match timeout(Duration::from_secs(10), io).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 10 s".into()),
    }
}

/// The status code of a raw HTTP/1.1 answer.
fn status_of(answer: &[u8]) -> Option<u16> {
    let rest = answer.strip_prefix(b"HTTP/1.1 ")?;
    std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()
}

/// (method, path, body, guarded): routes whose guard or handler reads the headers below.
const ROUTES: &[(&str, &str, &str, bool)] = &[
    ("GET", "/api/me", "", true),
    ("GET", "/auth/verify", "", true),
    ("POST", "/blacklist/logout", "", false),
    ("POST", "/api/users", "{}", false),
];

/// Headers, with the prefix their value starts with (the token carriers more often).
const HEADERS: &[(&str, &str)] = &[
    ("Cookie", "jwt="),
    ("Cookie", "jwt="),
    ("Authorization", "Bearer "),
    ("Authorization", "Bearer "),
    ("Authorization", "Bearer "),
    ("Authorization", ""),
    ("Origin", "http://"),
    ("Sec-Fetch-Site", ""),
    ("User-Agent", ""),
    ("Content-Type", "application/json"),
    ("X-Forwarded-For", ""),
];

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let control = select(vec![
        0x00u8, 0x01, b'\t', 0x0B, 0x0C, 0x1B, 0x7F, b'\r', b'\n',
    ]);
    let byte =
        prop_oneof![3 => 0x80u8..=0xFF, 1 => 0u8..0x20, 2 => control.clone(), 3 => 0x20u8..0x7F];
    // What hyper lets through whole (tab, printable ASCII) reaches the guards and handlers.
    let ascii = prop_oneof![1 => Just(b'\t'), 6 => 0x20u8..0x7F];
    prop_oneof![
        prop::collection::vec(byte, 0..48),
        prop::collection::vec(ascii, 0..48),
    ]
}

#[test]
fn hostile_header_bytes_over_tcp_get_an_answer_and_the_server_lives_on() {
    let rt = runtime();
    let live = rt.block_on(launch());
    let strategy = (
        select(ROUTES.to_vec()),
        select(HEADERS.to_vec()),
        hostile_bytes(),
    );
    check(
        64,
        strategy,
        |((method, path, body, guarded), (name, prefix), value)| {
            let mut request =
                format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{name}: {prefix}")
                    .into_bytes();
            request.extend_from_slice(&value);
            request.extend_from_slice(
                format!(
                    "\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
            rt.block_on(async {
                let answer = exchange(live.port, &request)
                    .await
                    .map_err(TestCaseError::fail)?;
                let text = String::from_utf8_lossy(&answer);
                let status = status_of(&answer)
                    .ok_or_else(|| TestCaseError::fail(format!("no HTTP answer: {text:?}")))?;
                prop_assert!(status < 500, "a server error: {text}");
                prop_assert!(
                    !(guarded && (200..300).contains(&status)),
                    "accepted: {text}"
                );
                if (400..500).contains(&status) {
                    // hyper's own 400 (unparsable HTTP) has no body; Rocket's is the envelope.
                    let body = text
                        .split_once("\r\n\r\n")
                        .map(|(_, b)| b)
                        .unwrap_or_default();
                    prop_assert!(body.is_empty() || body.contains(r#""error":"#), "{text}");
                }
                let live_check = exchange(
                    live.port,
                    b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                )
                .await
                .map_err(TestCaseError::fail)?;
                prop_assert_eq!(
                    status_of(&live_check),
                    Some(200),
                    "the server no longer serves /health/live"
                );
                Ok(())
            })
        },
    );
    live.shutdown.notify();
}
