//! `soak drain`: the SIGTERM test's client. Writes every request whole on its own connection
//! (raw HTTP/1.1, `Connection: close`, so "sent" means written to the socket, not merely queued
//! in a client library), signals the server, then reads each answer to the end and checks that
//! it is complete: a status line, headers, and exactly `Content-Length` bytes of body.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::unix_ms;

/// What one request got back.
pub struct Reply {
    pub kind: &'static str,
    /// `Some(status)` for a complete answer; `None` when it was cut off or never came.
    pub status: Option<u16>,
    pub after_signal: Duration,
}

/// One raw request: its kind (for the report) and its bytes.
pub fn login_request(host: &str, user: &str, password: &str) -> (&'static str, Vec<u8>) {
    let body = json!({"username": user, "password": password}).to_string();
    let head = format!(
        "POST /authenticate HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    ("login", [head.into_bytes(), body.into_bytes()].concat())
}

pub fn me_request(host: &str, token: &str) -> (&'static str, Vec<u8>) {
    let head = format!(
        "GET /api/me HTTP/1.1\r\nHost: {host}\r\nCookie: jwt={token}\r\nConnection: close\r\n\r\n"
    );
    ("me", head.into_bytes())
}

/// Writes every request, sends SIGTERM to `pid` once all are written (plus `settle`, so that
/// the server has accepted every connection), and collects the answers. Returns the replies
/// and the signal's time (Unix ms).
pub async fn drain(
    addr: &str,
    requests: Vec<(&'static str, Vec<u8>)>,
    pid: u32,
    settle: Duration,
) -> Result<(Vec<Reply>, u64), String> {
    let mut streams = Vec::new();
    for (kind, bytes) in requests {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        stream.write_all(&bytes).await.map_err(|e| e.to_string())?;
        stream.flush().await.map_err(|e| e.to_string())?;
        streams.push((kind, stream));
    }
    tokio::time::sleep(settle).await;
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("kill -TERM {pid} failed"));
    }
    let signalled = Instant::now();
    let signal_ms = unix_ms();
    let mut tasks = Vec::new();
    for (kind, mut stream) in streams {
        tasks.push(tokio::spawn(async move {
            let mut raw = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw));
            let complete = matches!(read.await, Ok(Ok(_)));
            Reply {
                kind,
                status: complete.then(|| complete_status(&raw)).flatten(),
                after_signal: signalled.elapsed(),
            }
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.map_err(|e| e.to_string())?);
    }
    Ok((replies, signal_ms))
}

/// The status of a complete HTTP/1.1 answer (headers ended, body exactly `Content-Length`
/// bytes, or chunked and ended by its last chunk), else `None`.
pub fn complete_status(raw: &[u8]) -> Option<u16> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let whole = match (length, chunked) {
        (Some(n), _) => body.len() == n,
        (None, true) => body.ends_with(b"0\r\n\r\n"),
        (None, false) => false,
    };
    whole.then_some(status)
}

/// `{sent, complete, cut_off, statuses: {kind: {status: n}}, last_answer_after_signal_ms}`.
pub fn report(replies: &[Reply]) -> Value {
    let mut statuses = serde_json::Map::new();
    let mut cut_off = 0;
    let mut last = Duration::ZERO;
    for r in replies {
        if let Some(m) = statuses
            .entry(r.kind)
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            let key = r.status.map_or("cut_off".into(), |s| s.to_string());
            let n = m.get(&key).and_then(Value::as_u64).unwrap_or(0);
            m.insert(key, json!(n + 1));
        }
        if r.status.is_none() {
            cut_off += 1;
        }
        last = last.max(r.after_signal);
    }
    json!({
        "sent_before_signal": replies.len(),
        "complete": replies.len() - cut_off,
        "cut_off": cut_off,
        "statuses": statuses,
        "last_answer_after_signal_ms": last.as_millis() as u64,
    })
}
