//! The HTTP side shared by every mode: one client per virtual user (its own keep-alive
//! connection), the session cookies read from `Set-Cookie`, and each request timed and counted.
//!
//! Cookies are handled by hand, not by a cookie store, so that the tool always knows exactly which
//! token it presented and can present it again after its logout, as a thief would.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{HeaderMap, AUTHORIZATION, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use crate::stats::Stats;

/// Every request gives up after this long (counted as `error`, which fails the run).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The server under test and one connection to it.
pub struct Conn {
    pub base: String,
    client: Client,
}

/// The answer to one request: status (None: no complete answer), cookies it set, body.
pub struct Answer {
    pub status: Option<u16>,
    pub jwt: Option<String>,
    pub refresh: Option<String>,
    pub body: Value,
}

impl Conn {
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        let client = Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// One client shared by many concurrent requests: up to `idle` connections kept open.
    pub fn pooled(base: &str, idle: usize) -> Result<Self, reqwest::Error> {
        let client = Client::builder()
            .pool_max_idle_per_host(idle)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    /// A state-changing request, from the server's own origin (as its pages would send it).
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, &self.base)
    }

    /// Sends, times and counts one request under `kind`.
    pub async fn send(&self, stats: &mut Stats, kind: &'static str, req: RequestBuilder) -> Answer {
        let started = Instant::now();
        let answer = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let (jwt, refresh) = session_cookies(res.headers());
                match res.bytes().await {
                    Ok(bytes) => Answer {
                        status: Some(status),
                        jwt,
                        refresh,
                        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    },
                    Err(_) => Answer::none(),
                }
            }
            Err(_) => Answer::none(),
        };
        stats.record(kind, answer.status, started.elapsed());
        answer
    }
}

impl Answer {
    fn none() -> Self {
        Self {
            status: None,
            jwt: None,
            refresh: None,
            body: Value::Null,
        }
    }
}

/// The `jwt` and `refresh` values a response sets (empty values, i.e. clearing, are skipped).
fn session_cookies(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let mut jwt = None;
    let mut refresh = None;
    for value in headers.get_all(SET_COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        let pair = text.split(';').next().unwrap_or("");
        match pair.split_once('=') {
            Some(("jwt", v)) if !v.is_empty() => jwt = Some(v.to_owned()),
            Some(("refresh", v)) if !v.is_empty() => refresh = Some(v.to_owned()),
            _ => {}
        }
    }
    (jwt, refresh)
}

pub fn with_cookie(req: RequestBuilder, name: &str, value: &str) -> RequestBuilder {
    req.header(COOKIE, format!("{name}={value}"))
}

pub fn with_bearer(req: RequestBuilder, token: &str) -> RequestBuilder {
    req.header(AUTHORIZATION, format!("Bearer {token}"))
}

/// The `jti` claim of a token, read without verifying it (the server did that when it set it).
pub fn jti_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["jti"].as_str().map(str::to_owned)
}

/// Milliseconds since the Unix epoch: the timeline shared with the fault scripts (`date +%s%3N`).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
