//! `/authenticate/passkey/...`: a passwordless login with a passkey; and
//! `/authenticate/mfa/passkey/...`: a passkey as the second step after a password, with the
//! `mfa` cookie that step set.

use std::net::IpAddr;

use rocket::http::CookieJar;
use rocket::serde::json::{Json, Value};
use rocket::serde::Deserialize;
use rocket::{post, routes, Route, State};
use utoipa::ToSchema;
use webauthn_rs::prelude::PublicKeyCredential;

use super::super::openapi::errors::{
    CrossOrigin, ErrorBody, NotJson, Throttled, TooLarge, UnavailableOrBusy,
};
use super::super::passkeys::{credential, WebauthnOptions};
use super::super::{body, JsonBody};
use super::{set_cookies, LoggedIn, UserAgent};
use crate::app::App;
use crate::auth::error::AuthError;
use crate::auth::login::Client;
use crate::auth::mfa::challenge::{self, Proof};
use crate::auth::passkeys::login;
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![start, finish, second_factor_start, second_factor_finish]
}

/// A passkey's answer.
#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Assertion {
    /// What `navigator.credentials.get()` returned, binary members base64url
    /// (`PublicKeyCredential.toJSON()`). One that is not a well-formed credential is refused like
    /// one that does not verify (401 `passkey_refused`).
    #[schema(value_type = Object)]
    credential: Value,
    /// "Keep me signed in", as for `POST /authenticate` (default `true`). A second step keeps the
    /// choice made at its password step, whatever this says.
    #[serde(default = "super::remembered")]
    #[schema(default = true)]
    remember: bool,
}

fn client<'a>(addr: Option<IpAddr>, agent: UserAgent, device: Option<&'a str>) -> Client<'a> {
    Client {
        addr,
        device,
        user_agent: agent.0,
    }
}

/// Start a passwordless login: request options for `navigator.credentials.get()`.
///
/// Any discoverable passkey of this site may answer (`allowCredentials` is empty); user
/// verification is required. The challenge is kept server-side for five minutes and answered
/// once. Each start counts as a login of the client's address (429 past `login_max_per_ip`).
#[utoipa::path(
    tag = "session",
    responses(
        (status = 200, description = "Request options.", body = WebauthnOptions),
        (status = 403, response = CrossOrigin),
        (status = 429, response = Throttled),
        (status = 503, description = "The store is unavailable, or too many passwordless logins are waiting (`service_unavailable`).", body = ErrorBody),
    ),
)]
#[post("/authenticate/passkey/start")]
async fn start(
    _origin: SameOrigin,
    addr: Option<IpAddr>,
    app: &State<App>,
) -> Result<Json<WebauthnOptions>, ApiError> {
    let options = login::start(app, addr).await?;
    Ok(Json(WebauthnOptions::from(&options)?))
}

/// Finish a passwordless login: a new session, as `POST /authenticate` starts one.
///
/// The answer must be to a pending start, made on `webauthn_origin` for `webauthn_rp_id`, with
/// user verification, by a passkey some account registered, with a signature counter that moved
/// forward (or stays 0, for synced passkeys). Refusals count on the login throttle. A locked
/// account is told so (403). Recorded as `login.passkey`.
#[utoipa::path(
    tag = "session",
    request_body = Assertion,
    responses(
        (status = 200, description = "Logged in: a new session.", body = LoggedIn,
            headers(("Set-Cookie" = String, description = "The `jwt`, `refresh` and `device` cookies as `POST /authenticate` sets them."))),
        (status = 400, response = NotJson),
        (status = 401, description = "Refused: no pending start for the answer's challenge (expired, or answered already: a replay), a wrong origin or RP id, no user verification, an unknown credential, a bad signature, or a counter that went backwards (`passkey_refused`).", body = ErrorBody),
        (status = 403, description = "The account is locked (`account_locked`), or a foreign `Origin` (`cross_origin_request`).", body = ErrorBody),
        (status = 409, description = "The account changed while the answer was being checked (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `credential` object (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
)]
#[post("/authenticate/passkey/finish", data = "<data>")]
async fn finish(
    _origin: SameOrigin,
    addr: Option<IpAddr>,
    agent: UserAgent,
    data: JsonBody<'_, Assertion>,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoggedIn>, ApiError> {
    let form = body(data)?;
    let credential = credential::<PublicKeyCredential>(form.credential)?;
    let device = jar
        .get(cookie::device_name(app.config.cookie))
        .map(|c| c.value().to_owned());
    let result = login::finish(
        app,
        &credential,
        client(addr, agent, device.as_deref()),
        form.remember,
    )
    .await;
    app.metrics.login(&result);
    Ok(Json(set_cookies(jar, result?, app)))
}

/// The `mfa` cookie's challenge, or the answer that there is none.
fn challenge_token(jar: &CookieJar<'_>, app: &App) -> Result<String, ApiError> {
    jar.get(cookie::mfa_name(app.config.cookie))
        .map(|c| c.value().to_owned())
        .ok_or(ApiError::NoChallenge)
}

/// Start a login's second step with a passkey: request options listing the account's passkeys.
///
/// With the `mfa` cookie of a password step whose `methods` included `passkey`.
#[utoipa::path(
    tag = "session",
    responses(
        (status = 200, description = "Request options.", body = WebauthnOptions),
        (status = 401, description = "No live challenge for the `mfa` cookie (`mfa_challenge_invalid`, cookie cleared).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "The account has no passkey (`conflict`).", body = ErrorBody),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("mfa_cookie" = [])),
)]
#[post("/authenticate/mfa/passkey/start")]
async fn second_factor_start(
    _origin: SameOrigin,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<WebauthnOptions>, ApiError> {
    let token = challenge_token(jar, app)?;
    match login::start_second_factor(app, &token).await {
        Ok(options) => Ok(Json(WebauthnOptions::from(&options)?)),
        Err(e) => {
            if matches!(e, AuthError::ChallengeGone) {
                jar.add(cookie::clearing_mfa(app.config.cookie));
            }
            Err(e.into())
        }
    }
}

/// Finish a login's second step with a passkey: the session starts.
///
/// The answer must be to this challenge's own start, by one of the account's passkeys, checked
/// as a passwordless login's is. A refused answer counts as a wrong code: on the login throttle,
/// and the fifth ends the challenge.
#[utoipa::path(
    tag = "session",
    request_body = Assertion,
    responses(
        (status = 200, description = "Logged in: a new session.", body = LoggedIn,
            headers(("Set-Cookie" = String, description = "The `jwt`, `refresh` and `device` cookies as `POST /authenticate` sets them, and the `mfa` cookie cleared."))),
        (status = 400, response = NotJson),
        (status = 401, description = "A refused answer (`passkey_refused`; the fifth failure ends the challenge and clears the cookie), or no live challenge for the cookie (`mfa_challenge_invalid`, cookie cleared).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "The account changed while the answer was being checked (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `credential` object (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("mfa_cookie" = [])),
)]
#[post("/authenticate/mfa/passkey/finish", data = "<data>")]
async fn second_factor_finish(
    _origin: SameOrigin,
    addr: Option<IpAddr>,
    agent: UserAgent,
    data: JsonBody<'_, Assertion>,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoggedIn>, ApiError> {
    let settings = app.config.cookie;
    let token = challenge_token(jar, app)?;
    let form = body(data)?;
    let device = jar
        .get(cookie::device_name(settings))
        .map(|c| c.value().to_owned());
    let credential = credential::<PublicKeyCredential>(form.credential)?;
    let proof = Proof::Passkey(&credential);
    let client = client(addr, agent, device.as_deref());
    let result = challenge::finish(app, &token, proof, client).await;
    app.metrics.login(&result);
    match result {
        Ok(logged_in) => {
            jar.add(cookie::clearing_mfa(settings));
            Ok(Json(set_cookies(jar, logged_in, app)))
        }
        Err(e) => {
            let ended = matches!(
                e,
                AuthError::ChallengeGone
                    | AuthError::InvalidCode {
                        challenge_ended: true
                    }
            );
            if ended {
                jar.add(cookie::clearing_mfa(settings));
            }
            match e {
                AuthError::InvalidCode { .. } => Err(ApiError::PasskeyRefused),
                other => Err(other.into()),
            }
        }
    }
}
