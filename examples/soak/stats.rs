//! Counts by request kind and outcome, and latency percentiles: each worker keeps its own
//! [`Stats`] (no lock on the hot path) and the run merges them at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

/// What one kind of request got: statuses (or transport errors) and latencies.
#[derive(Default)]
pub struct KindStats {
    outcomes: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
}

#[derive(Default)]
pub struct Stats {
    kinds: BTreeMap<&'static str, KindStats>,
}

/// The outcome label of one request: its status code, or `error` when no answer came.
pub fn label(status: Option<u16>) -> String {
    status.map_or_else(|| "error".to_owned(), |s| s.to_string())
}

impl Stats {
    pub fn record(&mut self, kind: &'static str, status: Option<u16>, latency: Duration) {
        let k = self.kinds.entry(kind).or_default();
        *k.outcomes.entry(label(status)).or_default() += 1;
        k.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Stats) {
        for (kind, theirs) in other.kinds {
            let ours = self.kinds.entry(kind).or_default();
            for (outcome, n) in theirs.outcomes {
                *ours.outcomes.entry(outcome).or_default() += n;
            }
            ours.latencies_us.extend(theirs.latencies_us);
        }
    }

    pub fn total(&self) -> u64 {
        self.kinds.values().flat_map(|k| k.outcomes.values()).sum()
    }

    /// Answers with a 5xx status, and requests that got no answer at all.
    pub fn server_errors(&self) -> (u64, u64) {
        let mut five = 0;
        let mut none = 0;
        for k in self.kinds.values() {
            for (outcome, n) in &k.outcomes {
                if outcome.starts_with('5') {
                    five += n;
                } else if outcome == "error" {
                    none += n;
                }
            }
        }
        (five, none)
    }

    /// `{kind: {count, statuses: {code: n}, p50_ms, p99_ms, max_ms}}`.
    pub fn report(&mut self) -> Value {
        let mut out = serde_json::Map::new();
        for (kind, k) in &mut self.kinds {
            k.latencies_us.sort_unstable();
            let count: u64 = k.outcomes.values().sum();
            out.insert(
                (*kind).to_owned(),
                json!({
                    "count": count,
                    "statuses": k.outcomes,
                    "p50_ms": percentile_ms(&k.latencies_us, 0.50),
                    "p99_ms": percentile_ms(&k.latencies_us, 0.99),
                    "max_ms": percentile_ms(&k.latencies_us, 1.0),
                }),
            );
        }
        Value::Object(out)
    }
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds (3 decimals).
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

/// A one-line text rendering of [`Stats::report`] per kind, for the summary file.
pub fn summary_lines(stats: &Value) -> Vec<String> {
    let Some(kinds) = stats.as_object() else {
        return Vec::new();
    };
    kinds
        .iter()
        .map(|(kind, k)| {
            format!(
                "  {kind:<14} {:>8} requests  statuses {}  p50 {} ms  p99 {} ms  max {} ms",
                k["count"], k["statuses"], k["p50_ms"], k["p99_ms"], k["max_ms"]
            )
        })
        .collect()
}
