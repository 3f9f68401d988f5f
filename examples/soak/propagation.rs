//! `soak propagation`: how long a logout answered by one instance takes to be refused by every
//! other instance on the same PostgreSQL (they learn it by LISTEN/NOTIFY).
//!
//! Logouts go out on a fixed schedule (open loop: the i-th at `start + i / rate`, whether or not
//! earlier ones have been answered, so a slow server shows as latency, not as a lower rate),
//! round-robin over the instances (see [`home_of`]). For a sample of them (every
//! `probe_every`-th), once the 200 has arrived (t0), the token is presented to `GET /api/me` on
//! each other instance every `poll` until it answers 401; the token's delay is the latest of
//! those first 401s minus t0.
//! Meanwhile every instance serves a paced background load of `GET /api/me` with a token that
//! stays valid (the first line of the tokens file, never logged out).
//!
//! The delay is measured to the arrival of the first 401, an upper bound; `delay_sent_ms` is
//! the same to the moment that request was sent, a lower bound (the instance may have learnt it
//! at any point in between, and up to one `poll` earlier).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, MissedTickBehavior};

use crate::http::{with_cookie, Conn};
use crate::propagation_report::{figures, micros, non_2xx, print_summary};
use crate::stats::Stats;
use crate::{read_tokens, write_json, Args, Result};

/// What one run does.
struct Plan {
    conns: Vec<Conn>,
    /// Logged out in order; token `i` on instance [`home_of`]`(i)`.
    tokens: Vec<String>,
    background_token: String,
    rate: f64,
    count: usize,
    probe_every: usize,
    poll: Duration,
    deadline: Duration,
    background_connections: usize,
    background_rate: f64,
}

/// When an instance first refused a token, after t0: (request sent, answer arrived).
type Refusal = (Duration, Duration);

/// The outcome of one logout (and of its probes, when it was sampled).
struct Done {
    stats: Stats,
    answered: bool,
    /// Per other instance (by index): its first refusal, or None past the deadline.
    probes: Option<Vec<(usize, Option<Refusal>)>>,
}

/// `soak propagation --bases URL,URL,... --tokens FILE --out FILE [--rate 2000] [--seconds 20]
/// [--probe-every 4] [--poll-ms 1] [--deadline-ms 3000] [--background-connections 4]
/// [--background-rate 250] [--line FILE]`.
pub async fn main(args: &Args) -> Result<bool> {
    let bases: Vec<String> = args
        .text("bases")?
        .split(',')
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect();
    if bases.len() < 2 {
        return Err("--bases needs at least two instances, comma-separated".into());
    }
    let mut tokens = read_tokens(&args.text("tokens")?)?;
    let rate: f64 = args.number("rate", 2000.0)?;
    let seconds: f64 = args.number("seconds", 20.0)?;
    if !(rate > 0.0 && seconds > 0.0) {
        return Err("--rate and --seconds must be positive".into());
    }
    let count = (rate * seconds).round() as usize;
    if tokens.len() < count + 1 {
        return Err(format!(
            "{count} logouts need {} tokens (one more for the background load); the file has {}",
            count + 1,
            tokens.len()
        ));
    }
    let background_token = tokens.remove(0);
    let conns = bases
        .iter()
        .map(|b| Conn::pooled(b, 256))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let plan = Arc::new(Plan {
        conns,
        tokens,
        background_token,
        rate,
        count,
        probe_every: args.number("probe-every", 4usize)?.max(1),
        poll: Duration::from_micros((args.number("poll-ms", 1.0f64)? * 1000.0) as u64),
        deadline: Duration::from_millis(args.number("deadline-ms", 3000)?),
        background_connections: args.number("background-connections", 4usize)?,
        background_rate: args.number("background-rate", 250.0)?,
    });
    let (report, line) = run(plan).await?;
    write_json(&args.text("out")?, &report)?;
    if let Ok(path) = args.text("line") {
        std::fs::write(&path, line + "\n").map_err(|e| format!("{path}: {e}"))?;
    }
    print_summary(&report);
    Ok(report["passed"] == Value::Bool(true))
}

async fn run(plan: Arc<Plan>) -> Result<(Value, String)> {
    for conn in &plan.conns {
        warm_up(conn).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut background = JoinSet::new();
    if plan.background_rate > 0.0 {
        for i in 0..plan.conns.len() * plan.background_connections {
            let base = plan.conns[i % plan.conns.len()].base.clone();
            let conn = Conn::new(&base).map_err(|e| e.to_string())?;
            let pace =
                Duration::from_secs_f64(plan.background_connections as f64 / plan.background_rate);
            background.spawn(paced_me(conn, plan.clone(), pace, stop.clone()));
        }
        sleep(Duration::from_millis(200)).await;
    }
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let start = tokio::time::Instant::now();
    let mut lag_us = Vec::with_capacity(plan.count);
    let mut logouts = JoinSet::new();
    let mut last_sent = started;
    for i in 0..plan.count {
        let at = start + period.mul_f64(i as f64);
        sleep_until(at).await;
        lag_us.push(micros(
            tokio::time::Instant::now().saturating_duration_since(at),
        ));
        last_sent = Instant::now();
        logouts.spawn(logout_one(plan.clone(), i));
    }
    let sending = last_sent.duration_since(started);
    let mut stats = Stats::default();
    let mut answered = 0u64;
    let (mut delays, mut delays_sent, mut never) = (Vec::new(), Vec::new(), 0u64);
    let mut by_instance: Vec<Vec<u32>> = vec![Vec::new(); plan.conns.len()];
    while let Some(done) = logouts.join_next().await {
        let done = done.map_err(|e| e.to_string())?;
        stats.merge(done.stats);
        answered += u64::from(done.answered);
        let Some(probes) = done.probes else { continue };
        let mut latest: Option<Refusal> = Some((Duration::ZERO, Duration::ZERO));
        for (instance, refusal) in probes {
            if let Some(r) = refusal {
                by_instance[instance].push(micros(r.1));
            }
            latest = match (refusal, latest) {
                (Some(r), Some(l)) => Some((l.0.max(r.0), l.1.max(r.1))),
                _ => None,
            };
        }
        match latest {
            Some((sent, arrived)) => {
                delays.push(micros(arrived));
                delays_sent.push(micros(sent));
            }
            None => never += 1,
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Release);
    let mut bg = Stats::default();
    while let Some(s) = background.join_next().await {
        bg.merge(s.map_err(|e| e.to_string())?);
    }
    let by_kind = stats.report();
    let bg_kind = bg.report();
    let sent = plan.count as u64;
    let probed = delays.len() as u64 + never;
    let bg_requests = bg.total();
    let bg_non2xx = non_2xx(&bg_kind["background"]);
    let achieved = if sending.is_zero() {
        sent as f64
    } else {
        (sent - 1) as f64 / sending.as_secs_f64()
    };
    let (delay, delay_sent, lag) = (
        figures(&mut delays),
        figures(&mut delays_sent),
        figures(&mut lag_us),
    );
    let checks = [
        (
            "every probed token refused by every other instance",
            never == 0,
        ),
        ("at least one token probed", probed > 0),
        (
            "every logout answered 200 and revoked its token",
            answered == sent,
        ),
        ("every background GET /api/me answered 2xx", bg_non2xx == 0),
    ];
    let passed = checks.iter().all(|(_, ok)| *ok);
    let report = json!({
        "instances": plan.conns.iter().map(|c| c.base.clone()).collect::<Vec<_>>(),
        "target_rate": plan.rate,
        "seconds": elapsed.as_secs_f64(),
        "logouts_sent": sent,
        "logouts_answered_200": answered,
        "logouts_not_200": sent - answered,
        "achieved_rate": achieved,
        "send_lag_ms": lag,
        "probe_every": plan.probe_every,
        "poll_ms": plan.poll.as_secs_f64() * 1000.0,
        "deadline_ms": plan.deadline.as_millis() as u64,
        "probed_tokens": probed,
        "delay_ms": delay,
        "delay_sent_ms": delay_sent,
        "refusal_by_instance_ms": by_instance.iter_mut().map(|v| figures(v)).collect::<Vec<_>>(),
        "never_refused": never,
        "goal_p99_50ms_met": probed > 0 && delay["p99"].as_f64().is_some_and(|p| p <= 50.0),
        "by_kind": by_kind,
        "background_requests": bg_requests,
        "background_non_2xx": bg_non2xx,
        "background": bg_kind,
        "checks": checks.iter().map(|(n, ok)| json!({"check": n, "passed": ok})).collect::<Vec<_>>(),
        "passed": passed,
    });
    let line = [
        sent.to_string(),
        answered.to_string(),
        (sent - answered).to_string(),
        format!("{achieved:.0}"),
        probed.to_string(),
        delay["p50"].to_string(),
        delay["p99"].to_string(),
        delay["max"].to_string(),
        never.to_string(),
        bg_requests.to_string(),
        bg_non2xx.to_string(),
        lag["max"].to_string(),
        delay_sent["p99"].to_string(),
        by_kind["logout"]["p99_ms"].to_string(),
    ]
    .join("\t");
    Ok((report, line))
}

/// Opens a few connections to each instance before the clock starts.
async fn warm_up(conn: &Conn) {
    let mut set = JoinSet::new();
    for _ in 0..16 {
        let req = conn.get("/health/live");
        set.spawn(async move { req.send().await.map(|r| r.status()).ok() });
    }
    while set.join_next().await.is_some() {}
}

/// The instance that logs out token `i`: round-robin, shifted by one every `probe_every`
/// logouts, so that the sampled ones (every `probe_every`-th) rotate over the instances too
/// (with plain round-robin and 4 instances, every 4th logout would always be on the first).
fn home_of(i: usize, probe_every: usize, instances: usize) -> usize {
    (i + i / probe_every) % instances
}

/// Logs out token `i` on its instance; if it is sampled, probes every other instance.
async fn logout_one(plan: Arc<Plan>, i: usize) -> Done {
    let home = home_of(i, plan.probe_every, plan.conns.len());
    let conn = &plan.conns[home];
    let mut stats = Stats::default();
    let req = with_cookie(conn.post("/blacklist/logout"), "jwt", &plan.tokens[i]);
    let answer = conn.send(&mut stats, "logout", req).await;
    let t0 = Instant::now();
    let answered =
        answer.status == Some(200) && answer.body.get("logged_out") == Some(&Value::Bool(true));
    if !answered || !i.is_multiple_of(plan.probe_every) {
        return Done {
            stats,
            answered,
            probes: None,
        };
    }
    let mut set = JoinSet::new();
    for other in (0..plan.conns.len()).filter(|&j| j != home) {
        let plan = plan.clone();
        set.spawn(async move {
            let mut stats = Stats::default();
            let refusal = first_refusal(&plan, other, i, t0, &mut stats).await;
            (stats, other, refusal)
        });
    }
    let mut probes = Vec::new();
    while let Some(result) = set.join_next().await {
        // A probe task only panics with the runtime going down: count it as never refused.
        let (s, other, refusal) = result.unwrap_or_else(|_| (Stats::default(), 0, None));
        stats.merge(s);
        probes.push((other, refusal));
    }
    Done {
        stats,
        answered,
        probes: Some(probes),
    }
}

/// Presents token `i` to instance `other` every `poll` until it answers 401, or the deadline.
async fn first_refusal(
    plan: &Plan,
    other: usize,
    i: usize,
    t0: Instant,
    stats: &mut Stats,
) -> Option<Refusal> {
    let conn = &plan.conns[other];
    loop {
        let sent = Instant::now();
        let req = with_cookie(conn.get("/api/me"), "jwt", &plan.tokens[i]);
        let status = conn.send(stats, "probe", req).await.status;
        let arrived = Instant::now();
        if status == Some(401) {
            return Some((
                sent.saturating_duration_since(t0),
                arrived.duration_since(t0),
            ));
        }
        if arrived.duration_since(t0) >= plan.deadline {
            return None;
        }
        sleep(plan.poll).await;
    }
}

/// `GET /api/me` with the valid token, one request per `pace` at most, until `stop`.
async fn paced_me(conn: Conn, plan: Arc<Plan>, pace: Duration, stop: Arc<AtomicBool>) -> Stats {
    let mut stats = Stats::default();
    let mut tick = tokio::time::interval(pace);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while !stop.load(Ordering::Acquire) {
        tick.tick().await;
        let req = with_cookie(conn.get("/api/me"), "jwt", &plan.background_token);
        conn.send(&mut stats, "background", req).await;
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::home_of;

    #[test]
    fn sampled_logouts_rotate_over_every_instance() {
        let mut sampled = [0; 4];
        let mut all = [0; 4];
        for i in 0..1600 {
            all[home_of(i, 4, 4)] += 1;
            if i.is_multiple_of(4) {
                sampled[home_of(i, 4, 4)] += 1;
            }
        }
        assert_eq!(all, [400; 4]);
        assert_eq!(sampled, [100; 4]);
    }
}
