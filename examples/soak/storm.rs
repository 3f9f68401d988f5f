//! `soak storm`: a logout storm for the kill -9 test. Many workers log out pre-minted tokens as
//! fast as the server answers; each token whose logout answered 200 is appended to a file at
//! once, so that the fault script can kill the server after some have been answered and later
//! check that every one of them is still revoked.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::http::{with_cookie, Conn};
use crate::stats::Stats;

/// Logs out `tokens` over `concurrency` connections until done, or `limit` has passed, or the
/// server has gone (a worker stops at its first request that got no answer).
pub async fn storm(
    base: &str,
    tokens: Vec<String>,
    concurrency: usize,
    limit: Duration,
    answered_path: &str,
) -> Result<Stats, String> {
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut file = std::fs::File::create(answered_path).map_err(|e| e.to_string())?;
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        while let Some(token) = rx.blocking_recv() {
            writeln!(file, "{token}")?;
            file.flush()?;
        }
        Ok(())
    });
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let conn = Conn::new(base).map_err(|e| e.to_string())?;
        let (tokens, next, tx) = (tokens.clone(), next.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(i) else { break };
                let req = with_cookie(conn.post("/blacklist/logout"), "jwt", token);
                let answer = conn.send(&mut stats, "logout", req).await;
                match answer.status {
                    Some(200) if answer.body.get("logged_out") == Some(&Value::Bool(true)) => {
                        let _ = tx.send(token.clone());
                    }
                    None => break,
                    _ => {}
                }
            }
            stats
        }));
    }
    drop(tx);
    let mut total = Stats::default();
    for task in tasks {
        total.merge(task.await.map_err(|e| e.to_string())?);
    }
    writer
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(total)
}
