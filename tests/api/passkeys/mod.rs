//! Passkeys: registering (`/api/passkeys/register/...`), listing, naming and removing them; a
//! passwordless login (`/authenticate/passkey/...`) and the second step after a password
//! (`/authenticate/mfa/passkey/...`); each refusal the issue names (a replayed answer, a wrong
//! origin or RP id, a counter that went backwards, no user verification), with a software
//! authenticator standing in for the browser.

mod login;
mod manage;
mod soft_authenticator;

use rocket::http::{Cookie, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::{serde_json::json, Value};

use self::soft_authenticator::SoftAuthenticator;
use crate::helpers::{json_body, TestApp};
use crate::mfa::send;

/// The origin and RP id of the test servers (the settings' defaults).
pub(crate) const ORIGIN: &str = "http://localhost:8000";
pub(crate) const RP_ID: &str = "localhost";

/// A user's session, and their authenticator with one registered passkey.
pub(crate) struct Registered {
    pub jwt: String,
    pub key: SoftAuthenticator,
    pub id: String,
}

pub(crate) fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(ORIGIN, RP_ID)
}

/// Starts a registration for the session `jwt`; the options as the browser gets them.
pub(crate) async fn start_registration(app: &TestApp, jwt: &str) -> Value {
    let res = send(
        app,
        Method::Post,
        "/api/passkeys/register/start",
        jwt,
        json!({}),
    )
    .await;
    assert_eq!(res.status(), Status::Ok);
    json_body(res).await
}

pub(crate) async fn finish_registration<'a>(
    app: &'a TestApp,
    jwt: &str,
    name: &str,
    credential: Value,
) -> LocalResponse<'a> {
    let body = json!({"name": name, "credential": credential});
    send(
        app,
        Method::Post,
        "/api/passkeys/register/finish",
        jwt,
        body,
    )
    .await
}

/// Signs up `name` (a session by password) and registers `key` as a passkey named "laptop".
pub(crate) async fn register_with(
    app: &TestApp,
    name: &str,
    mut key: SoftAuthenticator,
) -> Registered {
    let jwt = app.user_token(name).await;
    let options = start_registration(app, &jwt).await;
    let res = finish_registration(app, &jwt, "laptop", key.register(&options)).await;
    assert_eq!(res.status(), Status::Created);
    let id = json_body(res).await["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    Registered { jwt, key, id }
}

pub(crate) async fn register(app: &TestApp, name: &str) -> Registered {
    register_with(app, name, authenticator()).await
}

/// A passwordless login's start: the options.
pub(crate) async fn start_login(app: &TestApp) -> Value {
    let res = app
        .post_json("/authenticate/passkey/start", json!({}))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    json_body(res).await
}

pub(crate) async fn finish_login<'a>(app: &'a TestApp, assertion: &Value) -> LocalResponse<'a> {
    app.post_json(
        "/authenticate/passkey/finish",
        json!({"credential": assertion}),
    )
    .dispatch()
    .await
}

/// A second step's start with the `mfa` cookie; the response.
pub(crate) async fn start_step<'a>(app: &'a TestApp, mfa: &str) -> LocalResponse<'a> {
    app.post_json("/authenticate/mfa/passkey/start", json!({}))
        .cookie(Cookie::new("mfa", mfa.to_owned()))
        .dispatch()
        .await
}

pub(crate) async fn finish_step<'a>(
    app: &'a TestApp,
    mfa: &str,
    assertion: &Value,
) -> LocalResponse<'a> {
    app.post_json(
        "/authenticate/mfa/passkey/finish",
        json!({"credential": assertion}),
    )
    .cookie(Cookie::new("mfa", mfa.to_owned()))
    .dispatch()
    .await
}

/// The kinds of the caller's own events, newest first.
pub(crate) async fn own_event_kinds(app: &TestApp, jwt: &str) -> Vec<String> {
    let page = json_body(app.authed(Method::Get, "/api/events", jwt).await).await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect()
}
