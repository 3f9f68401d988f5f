//! `soak watch`: guarded load and a `/health` poller on a timeline (Unix ms), for the
//! PostgreSQL outage test. The fault script stops and starts PostgreSQL meanwhile and writes
//! when (`stop_begin`, `stop_done`, `start_begin`, `start_done`) to a marks file; at the end
//! the timeline is checked against those marks:
//!
//! - no guarded request was answered 200 later than `stop_done + staleness + margin` (and
//!   before `start_begin`, while PostgreSQL was certainly down);
//! - `/health` answered 503 during the outage, and nothing but 503 between the bound and the
//!   restart;
//! - after `start_done`, guarded 200s and a `/health` 200 come back by themselves, within
//!   `recovery_limit`;
//! - no 5xx other than 503, and no request left without an answer.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{unix_ms, with_bearer, Conn};
use crate::stats::Stats;

/// One request on the timeline.
#[derive(Clone, Copy)]
struct Event {
    guarded: bool,
    sent: u64,
    answered: u64,
    status: Option<u16>,
}

pub struct Watch {
    pub base: String,
    pub tokens: Vec<String>,
    pub connections: usize,
    pub duration: Duration,
    /// Pause between two requests of one worker (keeps the CPU for PostgreSQL's restart).
    pub pause: Duration,
    pub staleness_ms: u64,
    pub margin_ms: u64,
    pub recovery_limit_ms: u64,
}

async fn worker(conn: Conn, token: Option<String>, until: Instant, pause: Duration) -> Vec<Event> {
    let mut stats = Stats::default();
    let mut events = Vec::new();
    while Instant::now() < until {
        let sent = unix_ms();
        let (guarded, req) = match &token {
            Some(t) => (true, with_bearer(conn.get("/api/me"), t)),
            None => (false, conn.get("/health")),
        };
        let answer = conn
            .send(&mut stats, "watch", req.timeout(Duration::from_secs(10)))
            .await;
        events.push(Event {
            guarded,
            sent,
            answered: unix_ms(),
            status: answer.status,
        });
        tokio::time::sleep(pause).await;
    }
    events
}

/// Runs the load, then reads the marks and judges the timeline. `Ok((report, passed))`.
pub async fn watch(plan: &Watch, marks_path: &str) -> Result<(Value, bool), String> {
    let until = Instant::now() + plan.duration;
    let mut tasks = Vec::new();
    for i in 0..=plan.connections {
        let conn = Conn::new(&plan.base).map_err(|e| e.to_string())?;
        // Worker 0 polls /health; the others present a live token each.
        let token = (i > 0).then(|| plan.tokens[i % plan.tokens.len()].clone());
        tasks.push(tokio::spawn(worker(conn, token, until, plan.pause)));
    }
    let mut events = Vec::new();
    for task in tasks {
        events.extend(task.await.map_err(|e| e.to_string())?);
    }
    let marks = read_marks(marks_path)?;
    Ok(judge(plan, &events, &marks))
}

fn read_marks(path: &str) -> Result<HashMap<String, u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let marks: HashMap<String, u64> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.trim().to_owned(), v.trim().parse().ok()?)))
        .collect();
    for key in ["stop_begin", "stop_done", "start_begin", "start_done"] {
        if !marks.contains_key(key) {
            return Err(format!("{path} lacks `{key}`"));
        }
    }
    Ok(marks)
}

fn judge(plan: &Watch, events: &[Event], marks: &HashMap<String, u64>) -> (Value, bool) {
    let (stop_begin, stop_done) = (marks["stop_begin"], marks["stop_done"]);
    let (start_begin, start_done) = (marks["start_begin"], marks["start_done"]);
    let bound = stop_done + plan.staleness_ms + plan.margin_ms;
    let mut phases: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut late_guarded_200 = 0;
    let mut health_in_outage = (0u64, 0u64); // (503, other)
    let mut last_guarded_200_before_start = None;
    let mut first_guarded_200_after = None;
    let mut first_health_200_after = None;
    let mut guarded_200_after_recovery = 0;
    let mut bad_5xx = 0;
    let mut no_answer = 0;
    for e in events {
        let phase = if e.answered < stop_begin {
            "before_stop"
        } else if e.sent > stop_done && e.answered < start_begin {
            "outage"
        } else if e.sent > start_done {
            "after_start"
        } else {
            "transition"
        };
        let key = format!(
            "{} {}",
            if e.guarded { "me" } else { "health" },
            crate::stats::label(e.status)
        );
        *phases.entry(phase).or_default().entry(key).or_default() += 1;
        match e.status {
            None => no_answer += 1,
            Some(s) if s >= 500 && s != 503 => bad_5xx += 1,
            _ => {}
        }
        let ok = e.status == Some(200);
        if e.guarded && ok && e.answered < start_begin {
            let last = last_guarded_200_before_start.get_or_insert(e.answered);
            *last = (*last).max(e.answered);
        }
        if e.guarded && ok && e.answered > bound && e.answered < start_begin {
            late_guarded_200 += 1;
        }
        if !e.guarded && e.answered > bound && e.answered < start_begin {
            if e.status == Some(503) {
                health_in_outage.0 += 1;
            } else {
                health_in_outage.1 += 1;
            }
        }
        if ok && e.sent > start_done {
            let first = if e.guarded {
                &mut first_guarded_200_after
            } else {
                &mut first_health_200_after
            };
            let t = first.get_or_insert(e.answered);
            *t = (*t).min(e.answered);
        }
    }
    let recovered_at = first_guarded_200_after.max(first_health_200_after);
    if let Some(at) = recovered_at {
        guarded_200_after_recovery = events
            .iter()
            .filter(|e| e.guarded && e.status == Some(200) && e.sent >= at)
            .count();
    }
    let guard_recovery = first_guarded_200_after.map(|t| t.saturating_sub(start_done));
    let health_recovery = first_health_200_after.map(|t| t.saturating_sub(start_done));
    let recovered = matches!((guard_recovery, health_recovery),
        (Some(g), Some(h)) if g <= plan.recovery_limit_ms && h <= plan.recovery_limit_ms);
    let before_ok = phases
        .get("before_stop")
        .and_then(|p| p.get("me 200"))
        .is_some_and(|n| *n > 0);
    let passed = before_ok
        && late_guarded_200 == 0
        && health_in_outage.0 > 0
        && health_in_outage.1 == 0
        && recovered
        && bad_5xx == 0
        && no_answer == 0;
    let report = json!({
        "requests": events.len(),
        "marks_ms_after_stop_done": {
            "stop_begin": stop_begin as i64 - stop_done as i64,
            "start_begin": start_begin - stop_done,
            "start_done": start_done - stop_done,
        },
        "outage_ms": start_begin - stop_done,
        "bound_ms_after_stop_done": plan.staleness_ms + plan.margin_ms,
        "last_guarded_200_ms_after_stop_done": last_guarded_200_before_start
            .map(|t| t as i64 - stop_done as i64),
        "guarded_200_later_than_bound": late_guarded_200,
        "health_during_outage": {"503": health_in_outage.0, "other": health_in_outage.1},
        "guard_recovery_ms_after_start_done": guard_recovery,
        "health_recovery_ms_after_start_done": health_recovery,
        "recovery_limit_ms": plan.recovery_limit_ms,
        "guarded_200_after_recovery": guarded_200_after_recovery,
        "5xx_other_than_503": bad_5xx,
        "no_answer": no_answer,
        "by_phase": phases,
        "passed": passed,
    });
    (report, passed)
}
