//! `POST /authenticate`: log in, a new session, and the `jwt`, `refresh` and `device` cookies;
//! or, for an account with a second factor, the `mfa` cookie and the step in `mfa.rs`
//! (`/authenticate/mfa`) or, with a passkey, `passkey.rs` (`/authenticate/mfa/passkey/...`,
//! which also holds the passwordless `/authenticate/passkey/...`).

pub mod mfa;
pub mod passkey;

use std::net::IpAddr;

use rocket::http::CookieJar;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{post, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::openapi::errors::{ErrorBody, NotJson, Throttled, TooLarge, UnavailableOrBusy};
use super::{body, JsonBody};
use crate::app::App;
use crate::auth::claims::Claims;
use crate::auth::login::{self, Client, Step};
use crate::auth::mfa::challenge;
use crate::auth::session_tokens::clean_user_agent;
use crate::domain::Role;
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    [routes![authenticate], mfa::routes(), passkey::routes()].concat()
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Credentials {
    username: String,
    password: String,
    /// "Keep me signed in" (default `true`). With `false`, the `jwt` and `refresh` cookies carry
    /// no `Max-Age` (they end with the browser) and the session ends
    /// `session_max_lifetime_unremembered` after the login.
    #[serde(default = "remembered")]
    #[schema(default = true)]
    remember: bool,
}

/// A login is remembered unless it asks not to be.
pub(super) fn remembered() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct LoggedIn {
    username: String,
    role: Role,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// The password was right; the account has a second factor, due at `POST /authenticate/mfa`
/// with the `mfa` cookie within five minutes.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct MfaRequired {
    /// Always `true`.
    mfa_required: bool,
    /// What the second step accepts.
    #[schema(value_type = Vec<MethodName>)]
    methods: Vec<&'static str>,
}

/// A second step's method.
#[derive(ToSchema)]
#[expect(dead_code, reason = "schema only")]
#[schema(rename_all = "snake_case")]
enum MethodName {
    Totp,
    RecoveryCode,
    Passkey,
}

/// A login's answer: a session, or the second step it waits for.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde", untagged)]
pub enum LoginAnswer {
    LoggedIn(LoggedIn),
    MfaRequired(MfaRequired),
}

impl From<Claims> for LoggedIn {
    fn from(claims: Claims) -> Self {
        Self {
            expires_at: claims.expires_at(),
            username: claims.sub,
            role: claims.role,
        }
    }
}

/// The client's `User-Agent`, cleaned, shown in the session list.
pub struct UserAgent(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UserAgent {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(UserAgent(clean_user_agent(
            req.headers().get_one("User-Agent"),
        )))
    }
}

/// Log in: a new session, and the `jwt`, `refresh` and `device` cookies.
///
/// An unknown user and a wrong password get the same answer. Repeated failures are refused for
/// a while (429): from one client on a username, from one address (an IPv6 /64), or from all
/// clients without a device cookie for the username together. A browser presenting the
/// `device` cookie of an earlier login as that username counts on its own budget only, so
/// strangers' failures cannot lock it out; all such devices of a username together have a
/// ceiling of their own. Every login counts per address whatever its outcome, and one address
/// may have only a few password checks in flight (429 past either). 503 at once when the
/// password hashing queue is full. A login past `max_sessions_per_user` ends the account's
/// oldest session. An account change committed while the password was being checked stops the
/// login (409, or 401 for a removal). For an account with a second factor, a right password
/// starts no session: the answer is `{mfa_required: true, methods}` with the `mfa` cookie only.
#[utoipa::path(
    tag = "session",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in: a new session (`LoggedIn`). Or, for an account with a second factor, `{mfa_required: true, methods}` and only the `mfa` cookie: no session yet.", body = LoginAnswer,
            headers(("Set-Cookie" = String, description = "Three cookies: `jwt=<access token>; HttpOnly; SameSite=<cookie_same_site>; Path=/; Max-Age=<token_ttl>`, `refresh=<refresh token>; HttpOnly; SameSite=Strict; Path=/refresh; Max-Age=<refresh_ttl, at most session_idle_timeout and session_max_lifetime>` and `device=<signed device id>; HttpOnly; SameSite=Strict; Path=/authenticate; Max-Age=31536000`, all `Secure` when `cookie_secure` is set. With `remember: false`, `jwt` and `refresh` carry no `Max-Age`: they end with the browser. With a second factor due: only `mfa=<challenge>; HttpOnly; SameSite=Strict; Path=/authenticate; Max-Age=300`."))),
        (status = 400, response = NotJson),
        (status = 401, description = "Unknown user or wrong password (`invalid_credentials`); also an account removed while its password was being checked.", body = ErrorBody),
        (status = 403, description = "The password is right but the account is locked (`account_locked`, with `until` when the lock ends by itself); or the request came from a foreign `Origin` (`cross_origin_request`).", body = ErrorBody),
        (status = 409, description = "The account changed (password, role, logout everywhere) while its password was being checked: no session was started; log in again (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "The body lacks `username` or `password`, or a field is not a string (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
)]
#[post("/authenticate", data = "<data>")]
async fn authenticate(
    _origin: SameOrigin,
    addr: Option<IpAddr>,
    agent: UserAgent,
    data: JsonBody<'_, Credentials>,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoginAnswer>, ApiError> {
    let creds = body(data)?;
    let device = jar
        .get(cookie::device_name(app.config.cookie))
        .map(|c| c.value().to_owned());
    let client = Client {
        addr,
        device: device.as_deref(),
        user_agent: agent.0,
    };
    let result = login::login(
        app,
        &creds.username,
        &creds.password,
        client,
        creds.remember,
    )
    .await;
    // A right password that opens a second step is not a login yet: the step counts it.
    if !matches!(result, Ok(Step::SecondFactor(_))) {
        app.metrics.login(&result);
    }
    match result? {
        Step::LoggedIn(logged_in) => Ok(Json(LoginAnswer::LoggedIn(set_cookies(
            jar, logged_in, app,
        )))),
        Step::SecondFactor(pending) => {
            jar.add(cookie::mfa(
                pending.token,
                challenge::TTL,
                app.config.cookie,
            ));
            Ok(Json(LoginAnswer::MfaRequired(MfaRequired {
                mfa_required: true,
                methods: pending.methods.iter().map(|m| m.as_str()).collect(),
            })))
        }
    }
}

/// Sets a new session's cookies (and the device cookie); the body that tells who logged in.
fn set_cookies(jar: &CookieJar<'_>, logged_in: login::LoggedIn, app: &App) -> LoggedIn {
    let claims = cookie::set_pair(jar, logged_in.issued, app.config.cookie);
    jar.add(cookie::device(logged_in.device, app.config.cookie));
    claims.into()
}
