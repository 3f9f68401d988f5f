//! A second factor: TOTP enrolment (`/api/mfa...`), the login's second step
//! (`/authenticate/mfa`), recovery codes, replay, skew, a challenge's lockout, a change to the
//! account voiding a pending step, and an admin's removal (`DELETE /api/users/<u>/mfa`).

mod admin;
mod enrolment;
mod second_step;

use rocket::http::{ContentType, Cookie, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::{serde_json::json, Value};
use time::OffsetDateTime;

use jwt_blacklist::auth::mfa::totp;

use crate::helpers::{json_body, set_cookies, TestApp};

/// A user with TOTP on: the secret their app holds, their recovery codes, and a session.
pub(crate) struct Enrolled {
    pub secret: Vec<u8>,
    pub recovery: Vec<String>,
    pub jwt: String,
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The code `steps` 30 s steps away from now, as an app with a skewed clock would show it.
pub(crate) fn code(secret: &[u8], steps: i64) -> String {
    let at = u64::try_from(now() + steps * 30).unwrap_or(0);
    totp::code_at(secret, at).expect("a code")
}

/// Waits (up to one step) until at least 5 s of the current step remain, so that a test's codes
/// are judged in the step they were computed for.
pub(crate) async fn away_from_step_edge() {
    let ok = crate::helpers::eventually(31, || async { (1..=24).contains(&(now() % 30)) }).await;
    assert!(ok, "the clock never left a step's edge");
}

pub(crate) async fn send<'a>(
    app: &'a TestApp,
    method: Method,
    uri: &str,
    jwt: &str,
    body: Value,
) -> LocalResponse<'a> {
    app.with_cookie(app.client.req(method, uri.to_owned()), jwt)
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await
}

/// Signs up `name` and turns TOTP on, confirming with the previous step's code (one step of
/// skew back); the session was started before TOTP, by the password alone.
pub(crate) async fn enrol(app: &TestApp, name: &str) -> Enrolled {
    let jwt = app.user_token(name).await;
    let start = send(app, Method::Post, "/api/mfa/totp", &jwt, json!({})).await;
    assert_eq!(start.status(), Status::Ok);
    let start = json_body(start).await;
    let secret = totp_rs::Secret::Encoded(start["secret"].as_str().expect("secret").to_owned())
        .to_bytes()
        .expect("base32");
    let confirm = send(
        app,
        Method::Post,
        "/api/mfa/totp/confirm",
        &jwt,
        json!({"code": code(&secret, -1)}),
    )
    .await;
    assert_eq!(confirm.status(), Status::Ok);
    let recovery = json_body(confirm).await["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    Enrolled {
        secret,
        recovery,
        jwt,
    }
}

/// The password step; returns the `mfa` cookie's value (asserting no session cookie came).
pub(crate) async fn password_step(app: &TestApp, name: &str) -> String {
    let res = app.login(name, &format!("{name}-password")).await;
    assert_eq!(res.status(), Status::Ok);
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1, "only the mfa cookie: {cookies:?}");
    let mfa = res
        .cookies()
        .get("mfa")
        .expect("the mfa cookie")
        .value()
        .to_owned();
    let body = json_body(res).await;
    assert_eq!(body["mfa_required"], true);
    mfa
}

pub(crate) async fn second_step<'a>(app: &'a TestApp, mfa: &str, body: Value) -> LocalResponse<'a> {
    app.post_json("/authenticate/mfa", body)
        .cookie(Cookie::new("mfa", mfa.to_owned()))
        .dispatch()
        .await
}

pub(crate) async fn factors(app: &TestApp, jwt: &str) -> Value {
    json_body(app.authed(Method::Get, "/api/mfa", jwt).await).await
}

pub(crate) fn clears_mfa(res: &LocalResponse<'_>) -> bool {
    set_cookies(res)
        .iter()
        .any(|c| c.starts_with("mfa=;") && c.contains("Max-Age=0"))
}
