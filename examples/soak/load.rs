//! `soak run`: virtual users, each on its own connection, living whole sessions until the clock
//! runs out: log in, call `GET /api/me` many times with a refresh or two in between, log out,
//! then at once present every access token of that session again (each must be refused) and the
//! refresh token (refused too). Logins cost argon2, so they are a small share of the requests.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{jti_of, with_bearer, with_cookie, Conn};
use crate::stats::Stats;

/// The knobs of one run.
pub struct Plan {
    pub base: String,
    pub connections: usize,
    pub duration: Duration,
    /// `GET /api/me` calls per session.
    pub calls: usize,
    /// Refreshes per session, spread over the calls.
    pub refreshes: usize,
    pub password: String,
    pub user_prefix: String,
}

/// What one virtual user saw, beyond the counts.
#[derive(Default)]
pub struct Outcome {
    pub stats: Stats,
    /// Token ids whose logout answered 200 (`logged_out: true`).
    pub logged_out: Vec<String>,
    /// Tokens of logged-out sessions kept for the final re-check (every tenth session's).
    pub sample: Vec<String>,
    /// Tokens accepted (200) after the answer to their session's logout.
    pub accepted_after_logout: u64,
    /// Refresh tokens that still rotated after the logout of their session.
    pub refreshed_after_logout: u64,
    /// Answers that were neither the expected status nor a 5xx/transport error.
    pub unexpected: Vec<String>,
}

/// Signs up one user per connection, before the clock starts.
pub async fn create_users(plan: &Plan) -> Result<(), String> {
    let mut tasks = Vec::new();
    for i in 0..plan.connections {
        let conn = Conn::new(&plan.base).map_err(|e| e.to_string())?;
        let body =
            json!({"username": format!("{}{i}", plan.user_prefix), "password": plan.password});
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let answer = conn
                .send(&mut stats, "signup", conn.post("/api/users").json(&body))
                .await;
            answer.status
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.map_err(|e| e.to_string())? {
            Some(201 | 200) => {}
            other => return Err(format!("sign-up of user {i} answered {other:?}")),
        }
    }
    Ok(())
}

/// Runs every virtual user until the deadline and merges what they saw.
pub async fn run(plan: &Plan) -> Result<Outcome, String> {
    let deadline = Instant::now() + plan.duration;
    let mut tasks = Vec::new();
    for i in 0..plan.connections {
        let conn = Conn::new(&plan.base).map_err(|e| e.to_string())?;
        let user = format!("{}{i}", plan.user_prefix);
        let (password, calls, refreshes) = (plan.password.clone(), plan.calls, plan.refreshes);
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            let mut sessions = 0u64;
            while Instant::now() < deadline {
                let keep = (sessions + i as u64).is_multiple_of(10);
                session(&conn, &user, &password, calls, refreshes, keep, &mut out).await;
                sessions += 1;
            }
            out
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        let out = task.await.map_err(|e| e.to_string())?;
        total.stats.merge(out.stats);
        total.logged_out.extend(out.logged_out);
        total.sample.extend(out.sample);
        total.accepted_after_logout += out.accepted_after_logout;
        total.refreshed_after_logout += out.refreshed_after_logout;
        total.unexpected.extend(out.unexpected);
    }
    Ok(total)
}

/// Notes an answer that is neither what was expected nor already counted as a failure
/// (5xx and transport errors are counted by [`Stats`]).
fn expect(out: &mut Outcome, what: &str, status: Option<u16>, wanted: u16) -> bool {
    match status {
        Some(s) if s == wanted => true,
        Some(s) if s >= 500 => false,
        None => false,
        Some(s) => {
            if out.unexpected.len() < 50 {
                out.unexpected
                    .push(format!("{what} answered {s}, expected {wanted}"));
            } else if out.unexpected.len() == 50 {
                out.unexpected.push("(more not listed)".into());
            }
            false
        }
    }
}

/// One session of one virtual user.
async fn session(
    conn: &Conn,
    user: &str,
    password: &str,
    calls: usize,
    refreshes: usize,
    keep_sample: bool,
    out: &mut Outcome,
) {
    let login = conn
        .post("/authenticate")
        .json(&json!({"username": user, "password": password}));
    let answer = conn.send(&mut out.stats, "login", login).await;
    let (Some(mut jwt), Some(mut refresh)) = (answer.jwt, answer.refresh) else {
        expect(out, "login", answer.status, 200);
        return;
    };
    let mut tokens = vec![jwt.clone()];
    let every = calls / (refreshes + 1);
    for call in 1..=calls {
        let me = with_cookie(conn.get("/api/me"), "jwt", &jwt);
        let answer = conn.send(&mut out.stats, "me", me).await;
        expect(out, "GET /api/me with a live token", answer.status, 200);
        if every > 0 && call % every == 0 && call / every <= refreshes {
            let req = with_cookie(conn.post("/refresh"), "refresh", &refresh);
            let answer = conn.send(&mut out.stats, "refresh", req).await;
            if expect(out, "POST /refresh", answer.status, 200) {
                if let (Some(j), Some(r)) = (answer.jwt, answer.refresh) {
                    jwt = j;
                    refresh = r;
                    tokens.push(jwt.clone());
                }
            }
        }
    }
    let logout = with_cookie(conn.post("/blacklist/logout"), "jwt", &jwt);
    let answer = conn.send(&mut out.stats, "logout", logout).await;
    if !expect(out, "POST /blacklist/logout", answer.status, 200) {
        return;
    }
    if answer.body.get("logged_out") != Some(&Value::Bool(true)) {
        out.unexpected
            .push(format!("logout answered 200 with {}", answer.body));
        return;
    }
    if let Some(jti) = jti_of(&jwt) {
        out.logged_out.push(jti);
    }
    // At once: every access token of the session, and its refresh token, are refused.
    for token in &tokens {
        let me = with_bearer(conn.get("/api/me"), token);
        let answer = conn.send(&mut out.stats, "me_after_logout", me).await;
        if answer.status == Some(200) {
            out.accepted_after_logout += 1;
        } else {
            expect(out, "GET /api/me after logout", answer.status, 401);
        }
    }
    let req = with_cookie(conn.post("/refresh"), "refresh", &refresh);
    let answer = conn.send(&mut out.stats, "refresh_after_logout", req).await;
    if answer.status == Some(200) {
        out.refreshed_after_logout += 1;
    } else {
        expect(out, "POST /refresh after logout", answer.status, 401);
    }
    if keep_sample {
        out.sample.extend(tokens);
    }
}

/// Presents tokens of logged-out sessions again: each must still be refused (401). Returns how
/// many were accepted (200) and how many got any other answer.
pub async fn recheck(
    base: &str,
    tokens: &[String],
    kind: &'static str,
    stats: &mut Stats,
) -> Result<(u64, u64), String> {
    let conn = Conn::new(base).map_err(|e| e.to_string())?;
    let (mut accepted, mut other) = (0, 0);
    for token in tokens {
        let me = with_bearer(conn.get("/api/me"), token);
        match conn.send(stats, kind, me).await.status {
            Some(401) => {}
            Some(200) => accepted += 1,
            _ => other += 1,
        }
    }
    Ok((accepted, other))
}
