//! The figures and the printed summary of `soak propagation` (see `propagation.rs`).

use std::time::Duration;

use serde_json::{json, Value};

use crate::stats::{percentile_ms, summary_lines};
use crate::verdict;

pub fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// `{count, p50, p99, max}` in milliseconds of unsorted microseconds.
pub fn figures(us: &mut [u32]) -> Value {
    us.sort_unstable();
    json!({
        "count": us.len(),
        "p50": percentile_ms(us, 0.50),
        "p99": percentile_ms(us, 0.99),
        "max": percentile_ms(us, 1.0),
    })
}

/// Requests of one kind (a [`Stats::report`] entry) that got no 2xx answer.
pub fn non_2xx(kind: &Value) -> u64 {
    let Some(statuses) = kind["statuses"].as_object() else {
        return 0;
    };
    statuses
        .iter()
        .filter(|(code, _)| !code.starts_with('2'))
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

pub fn print_summary(r: &Value) {
    println!(
        "propagation over {} instances: {} logouts sent ({} answered 200, {} not) at {:.0}/s \
         (target {}/s, send lag max {} ms); {} tokens probed (every {}th, poll {} ms): delay \
         p50 {} ms, p99 {} ms, max {} ms (to the request's send: p99 {} ms); {} never refused \
         within {} ms; background GET /api/me: {} requests, {} non-2xx",
        r["instances"].as_array().map_or(0, Vec::len),
        r["logouts_sent"],
        r["logouts_answered_200"],
        r["logouts_not_200"],
        r["achieved_rate"].as_f64().unwrap_or(0.0),
        r["target_rate"],
        r["send_lag_ms"]["max"],
        r["probed_tokens"],
        r["probe_every"],
        r["poll_ms"],
        r["delay_ms"]["p50"],
        r["delay_ms"]["p99"],
        r["delay_ms"]["max"],
        r["delay_sent_ms"]["p99"],
        r["never_refused"],
        r["deadline_ms"],
        r["background_requests"],
        r["background_non_2xx"],
    );
    for line in summary_lines(&r["by_kind"])
        .into_iter()
        .chain(summary_lines(&r["background"]))
    {
        println!("{line}");
    }
    if let Some(instances) = r["refusal_by_instance_ms"].as_array() {
        for (i, f) in instances.iter().enumerate() {
            println!(
                "  instance {i}: first 401 of {} tokens p50 {} ms, p99 {} ms, max {} ms",
                f["count"], f["p50"], f["p99"], f["max"]
            );
        }
    }
    if let Some(checks) = r["checks"].as_array() {
        for c in checks {
            let name = c["check"].as_str().unwrap_or("");
            println!("{}", verdict(name, c["passed"] == Value::Bool(true)));
        }
    }
}
