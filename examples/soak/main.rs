//! Reliability client of `.ci/soak.sh` and `.ci/faults.sh`: load that checks what it sees.
//!
//! ```text
//! soak run     --base URL --database-url URL --out FILE [--connections 128] [--seconds 60]
//!              [--calls 40] [--refreshes 2] [--password P] [--user-prefix soak-]
//! soak storm   --base URL --tokens FILE --answered FILE --out FILE [--concurrency 64] [--seconds 30]
//! soak verify  --base URL --tokens FILE --database-url URL --out FILE
//! soak drain   --addr HOST:PORT --pid PID --tokens FILE --user U --password P --out FILE
//!              [--logins 24] [--calls 200] [--settle-ms 300]
//! soak watch   --base URL --tokens FILE --marks FILE --out FILE [--connections 16]
//!              [--seconds 20] [--staleness-ms 1000] [--margin-ms 250] [--recovery-limit-ms 10000]
//! soak propagation --bases URL,URL,... --tokens FILE --out FILE [--rate 2000] [--seconds 20]
//!              [--probe-every 4] [--poll-ms 1] [--deadline-ms 3000] [--background-connections 4]
//!              [--background-rate 250] [--line FILE]
//! ```
//!
//! Each mode writes its figures as JSON to `--out`, prints a short summary, and exits non-zero
//! when a check fails. Tokens files hold one token per line (`bench_tool tokens` mints them);
//! they are secrets of the test and belong in a temporary folder, never in a report.

mod dbcheck;
mod drain;
mod http;
mod load;
mod outage;
mod propagation;
mod propagation_report;
mod stats;
mod storm;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::jti_of;
use crate::stats::{summary_lines, Stats};

type Result<T, E = String> = std::result::Result<T, E>;

/// `--key value` pairs after the mode.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: &[String]) -> Result<Self> {
        let mut map = HashMap::new();
        let mut it = raw.iter();
        while let Some(key) = it.next() {
            let name = key
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --option, got `{key}`"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Self(map))
    }

    fn text(&self, name: &str) -> Result<String> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn text_or(&self, name: &str, default: &str) -> String {
        self.0.get(name).cloned().unwrap_or_else(|| default.into())
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.0.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| format!("--{name} must be a number, not `{raw}`")),
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = raw.split_first() else {
        eprintln!("usage: soak <run|storm|verify|drain|watch|propagation> --option value ...");
        return ExitCode::from(2);
    };
    let result = match Args::parse(rest) {
        Ok(args) => match mode.as_str() {
            "run" => run(&args).await,
            "storm" => storm(&args).await,
            "verify" => verify(&args).await,
            "drain" => drain(&args).await,
            "watch" => watch(&args).await,
            "propagation" => propagation::main(&args).await,
            other => Err(format!("unknown mode `{other}`")),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("soak {mode}: a check FAILED (see the summary above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("soak {mode}: {e}");
            ExitCode::from(2)
        }
    }
}

fn write_json(path: &str, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{path}: {e}"))
}

fn read_tokens(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn verdict(name: &str, ok: bool) -> String {
    format!("  {} {name}", if ok { "ok  " } else { "FAIL" })
}

/// `run`: the soak itself.
async fn run(args: &Args) -> Result<bool> {
    let plan = load::Plan {
        base: args.text("base")?,
        connections: args.number("connections", 128)?,
        duration: Duration::from_secs(args.number("seconds", 60)?),
        calls: args.number("calls", 40)?,
        refreshes: args.number("refreshes", 2)?,
        password: args.text_or("password", "soak-password-0123456789"),
        user_prefix: args.text_or("user-prefix", "soak-"),
    };
    let database_url = args.text("database-url")?;
    let setup = Instant::now();
    load::create_users(&plan).await?;
    println!(
        "soak: {} users signed up in {:.1} s; running {} s at {} connections",
        plan.connections,
        setup.elapsed().as_secs_f64(),
        plan.duration.as_secs(),
        plan.connections
    );
    let started = Instant::now();
    let mut out = load::run(&plan).await?;
    let elapsed = started.elapsed();
    let (late_accepted, late_other) =
        load::recheck(&plan.base, &out.sample, "final_recheck", &mut out.stats).await?;
    let logouts = out.logged_out.len();
    let (missing, rows) = dbcheck::missing_rows(&database_url, out.logged_out).await?;
    let (five, none) = out.stats.server_errors();
    let checks = [
        (
            "every logout answered 200 has its blacklist row",
            missing == 0,
        ),
        ("no 5xx answer", five == 0),
        ("every request got an answer", none == 0),
        (
            "no token accepted after its logout (at once)",
            out.accepted_after_logout == 0,
        ),
        (
            "no refresh token rotated after its logout",
            out.refreshed_after_logout == 0,
        ),
        (
            "no sampled token accepted at the end",
            late_accepted == 0 && late_other == 0,
        ),
        ("no other unexpected answer", out.unexpected.is_empty()),
        ("at least one session completed", logouts > 0),
    ];
    let passed = checks.iter().all(|(_, ok)| *ok);
    let total = out.stats.total();
    let report = json!({
        "seconds": elapsed.as_secs_f64(),
        "connections": plan.connections,
        "calls_per_session": plan.calls,
        "refreshes_per_session": plan.refreshes,
        "requests": total,
        "requests_per_second": total as f64 / elapsed.as_secs_f64(),
        "by_kind": out.stats.report(),
        "logouts_answered_200": logouts,
        "blacklist_rows_missing": missing,
        "blacklist_rows_total": rows,
        "tokens_accepted_after_logout": out.accepted_after_logout,
        "refresh_rotated_after_logout": out.refreshed_after_logout,
        "final_recheck_tokens": out.sample.len(),
        "final_recheck_accepted": late_accepted,
        "final_recheck_other": late_other,
        "answers_5xx": five,
        "requests_without_answer": none,
        "unexpected": out.unexpected,
        "checks": checks.iter().map(|(n, ok)| json!({"check": n, "passed": ok})).collect::<Vec<_>>(),
        "passed": passed,
    });
    write_json(&args.text("out")?, &report)?;
    println!(
        "soak: {total} requests in {:.1} s ({:.0}/s), {logouts} logouts answered 200, \
         {missing} rows missing of them, {} sampled tokens re-checked",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        out.sample.len()
    );
    for line in summary_lines(&report["by_kind"]) {
        println!("{line}");
    }
    for (name, ok) in checks {
        println!("{}", verdict(name, ok));
    }
    Ok(passed)
}

/// `storm`: logouts as fast as possible, recording each one answered 200.
async fn storm(args: &Args) -> Result<bool> {
    let tokens = read_tokens(&args.text("tokens")?)?;
    let sent = tokens.len();
    let started = Instant::now();
    let mut stats: Stats = storm::storm(
        &args.text("base")?,
        tokens,
        args.number("concurrency", 64)?,
        Duration::from_secs(args.number("seconds", 30)?),
        &args.text("answered")?,
    )
    .await?;
    let report = json!({
        "tokens": sent,
        "seconds": started.elapsed().as_secs_f64(),
        "requests": stats.total(),
        "by_kind": stats.report(),
    });
    let (five, none) = stats.server_errors();
    println!(
        "{} logouts sent over {} s: {} without an answer (in flight when the server died), {five} 5xx",
        report["requests"],
        report["seconds"].as_f64().map_or(0.0, |s| (s * 10.0).round() / 10.0),
        none
    );
    write_json(&args.text("out")?, &report)?;
    Ok(true)
}

/// `verify`: every token whose logout answered 200 is refused, and has its row.
async fn verify(args: &Args) -> Result<bool> {
    let tokens = read_tokens(&args.text("tokens")?)?;
    let mut stats = Stats::default();
    let (accepted, other) =
        load::recheck(&args.text("base")?, &tokens, "verify", &mut stats).await?;
    let jtis: Vec<String> = tokens.iter().filter_map(|t| jti_of(t)).collect();
    let unreadable = tokens.len() - jtis.len();
    let (missing, rows) = dbcheck::missing_rows(&args.text("database-url")?, jtis).await?;
    let passed =
        accepted == 0 && other == 0 && missing == 0 && unreadable == 0 && !tokens.is_empty();
    let report = json!({
        "logouts_answered_200": tokens.len(),
        "refused_401": tokens.len() as u64 - accepted - other,
        "accepted_200": accepted,
        "other_answer": other,
        "blacklist_rows_missing": missing,
        "blacklist_rows_total": rows,
        "by_kind": stats.report(),
        "passed": passed,
    });
    println!(
        "verify: {} logouts answered 200 before the kill: {} refused (401), {accepted} accepted, \
         {other} other; rows missing {missing}",
        tokens.len(),
        tokens.len() as u64 - accepted - other
    );
    write_json(&args.text("out")?, &report)?;
    Ok(passed)
}

/// `drain`: requests in flight at SIGTERM all get a complete answer.
async fn drain(args: &Args) -> Result<bool> {
    let addr = args.text("addr")?;
    let (user, password) = (args.text("user")?, args.text("password")?);
    let tokens = read_tokens(&args.text("tokens")?)?;
    let mut requests = Vec::new();
    for _ in 0..args.number("logins", 24usize)? {
        requests.push(drain::login_request(&addr, &user, &password));
    }
    for i in 0..args.number("calls", 200usize)? {
        let token = tokens
            .get(i % tokens.len().max(1))
            .ok_or("--tokens is empty")?;
        requests.push(drain::me_request(&addr, token));
    }
    let settle = Duration::from_millis(args.number("settle-ms", 300)?);
    let (replies, signal_ms) =
        drain::drain(&addr, requests, args.number("pid", 0)?, settle).await?;
    let mut report = drain::report(&replies);
    let passed = report["cut_off"] == 0 && !replies.is_empty();
    report["signal_unix_ms"] = json!(signal_ms);
    report["passed"] = json!(passed);
    println!(
        "{} requests written before SIGTERM: {} complete answers, {} cut off; statuses {}; \
         last answer {} ms after the signal",
        report["sent_before_signal"],
        report["complete"],
        report["cut_off"],
        report["statuses"],
        report["last_answer_after_signal_ms"]
    );
    write_json(&args.text("out")?, &report)?;
    Ok(passed)
}

/// `watch`: the PostgreSQL outage timeline.
async fn watch(args: &Args) -> Result<bool> {
    let plan = outage::Watch {
        base: args.text("base")?,
        tokens: read_tokens(&args.text("tokens")?)?,
        connections: args.number("connections", 16)?,
        duration: Duration::from_secs(args.number("seconds", 20)?),
        pause: Duration::from_millis(args.number("pause-ms", 5)?),
        staleness_ms: args.number("staleness-ms", 1000)?,
        margin_ms: args.number("margin-ms", 250)?,
        recovery_limit_ms: args.number("recovery-limit-ms", 10_000)?,
    };
    if plan.tokens.is_empty() {
        return Err("--tokens is empty".into());
    }
    let (report, passed) = outage::watch(&plan, &args.text("marks")?).await?;
    let r = &report;
    println!(
        "outage {} ms; last guarded 200 {} ms after the stop (bound {} ms), {} later; /health \
         during the outage {}; back {} ms (guard) and {} ms (/health) after the restart, then {} \
         guarded 200s; {} requests, {} 5xx other than 503, {} unanswered: {}",
        r["outage_ms"],
        r["last_guarded_200_ms_after_stop_done"],
        r["bound_ms_after_stop_done"],
        r["guarded_200_later_than_bound"],
        r["health_during_outage"],
        r["guard_recovery_ms_after_start_done"],
        r["health_recovery_ms_after_start_done"],
        r["guarded_200_after_recovery"],
        r["requests"],
        r["5xx_other_than_503"],
        r["no_answer"],
        if passed { "ok" } else { "FAIL" }
    );
    write_json(&args.text("out")?, &report)?;
    Ok(passed)
}
