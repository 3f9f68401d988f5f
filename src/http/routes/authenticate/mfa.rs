//! `POST /authenticate/mfa`: a login's second step, with the `mfa` cookie the password step set.

use std::net::IpAddr;

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::serde::Deserialize;
use rocket::{post, routes, Route, State};
use utoipa::ToSchema;

use super::super::openapi::errors::{ErrorBody, NotJson, Throttled, TooLarge, UnavailableOrBusy};
use super::super::{body, JsonBody};
use super::{set_cookies, LoggedIn, UserAgent};
use crate::app::App;
use crate::auth::error::AuthError;
use crate::auth::login::Client;
use crate::auth::mfa::challenge::{self, Proof};
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![second_factor]
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
pub struct TotpProof {
    /// The current 6-digit code.
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

/// One of the account's unused recovery codes.
#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
pub struct RecoveryProof {
    /// `xxxxx-xxxxx`, any case, dash optional.
    #[schema(max_length = 64)]
    recovery_code: String,
}

/// Exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde", untagged)]
pub enum SecondFactor {
    Totp(TotpProof),
    RecoveryCode(RecoveryProof),
}

/// A login's second step: a TOTP code or a recovery code.
///
/// With the `mfa` cookie of a password step that answered `mfa_required`. The right code starts
/// the session, as a login without a second factor would (the same cookies). A code is accepted
/// once: the TOTP code of a step already used, or a spent recovery code, is a wrong code. Wrong
/// codes count on the login throttle like wrong passwords (429 past its limits), and the fifth
/// ends the challenge. A password change, lock or removal since the password step voids it.
#[utoipa::path(
    tag = "session",
    request_body = SecondFactor,
    responses(
        (status = 200, description = "Logged in: a new session.", body = LoggedIn,
            headers(("Set-Cookie" = String, description = "The `jwt`, `refresh` and `device` cookies as `POST /authenticate` sets them, and the `mfa` cookie cleared."))),
        (status = 400, response = NotJson),
        (status = 401, description = "A wrong or already used code (`invalid_code`; the fifth ends the challenge and clears the `mfa` cookie), or no live challenge for the cookie: none, expired, used, or voided by a change to the account (`mfa_challenge_invalid`, cookie cleared).", body = ErrorBody),
        (status = 403, response = super::super::openapi::errors::CrossOrigin),
        (status = 409, description = "The account changed while the code was being checked: no session was started; log in again (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "Neither or both of `code` and `recovery_code` (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("mfa_cookie" = [])),
)]
#[post("/authenticate/mfa", data = "<data>")]
async fn second_factor(
    _origin: SameOrigin,
    addr: Option<IpAddr>,
    agent: UserAgent,
    data: JsonBody<'_, SecondFactor>,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoggedIn>, ApiError> {
    let settings = app.config.cookie;
    // No challenge is the answer whatever the body: the step needs the password step first.
    let Some(token) = jar
        .get(cookie::mfa_name(settings))
        .map(|c| c.value().to_owned())
    else {
        return Err(ApiError::NoChallenge);
    };
    let form = body(data)?;
    let proof = match &form {
        SecondFactor::Totp(p) => Proof::Totp(&p.code),
        SecondFactor::RecoveryCode(p) => Proof::RecoveryCode(&p.recovery_code),
    };
    let device = jar
        .get(cookie::device_name(settings))
        .map(|c| c.value().to_owned());
    let client = Client {
        addr,
        device: device.as_deref(),
        user_agent: agent.0,
    };
    let result = challenge::finish(app, &token, proof, client).await;
    app.metrics.login(&result);
    match result {
        Ok(logged_in) => {
            jar.add(cookie::clearing_mfa(settings));
            Ok(Json(set_cookies(jar, logged_in, app)))
        }
        Err(e) => {
            if matches!(
                e,
                AuthError::ChallengeGone
                    | AuthError::InvalidCode {
                        challenge_ended: true
                    }
            ) {
                jar.add(cookie::clearing_mfa(settings));
            }
            Err(e.into())
        }
    }
}
