//! The only place the `jwt`, `refresh`, `device` and `mfa` cookies' attributes are set and
//! cleared.
//!
//! Rocket's `CookieJar::add` would default to `SameSite=Strict` without `HttpOnly`, and `Secure`
//! only under its own TLS, so every attribute is set here explicitly. The clearing cookie carries
//! the same name, path and attributes, or browsers would keep the old one.

use rocket::http::{Cookie, CookieJar, SameSite};
use time::OffsetDateTime;

use crate::auth::claims::Claims;
use crate::auth::session_tokens::Issued;
use crate::config::CookieSettings;

pub const COOKIE_NAME: &str = "jwt";
pub const REFRESH_COOKIE_NAME: &str = "refresh";
/// With `cookie_host_prefix`: names a sibling subdomain cannot set. `__Host-` also forbids a
/// `Domain` and needs `Path=/`, so only the access cookie can carry it; the others, scoped to
/// their routes, are `__Secure-`.
const HOST_COOKIE_NAME: &str = "__Host-jwt";
const SECURE_REFRESH_COOKIE_NAME: &str = "__Secure-refresh";
const SECURE_DEVICE_COOKIE_NAME: &str = "__Secure-device";
/// The refresh cookie goes only to the refresh route, never with ordinary requests.
pub const REFRESH_PATH: &str = "/refresh";
pub const DEVICE_COOKIE_NAME: &str = "device";
/// The device cookie matters only to the login throttle: it goes to the login route alone.
pub const DEVICE_PATH: &str = "/authenticate";
const MFA_COOKIE_NAME: &str = "mfa";
const SECURE_MFA_COOKIE_NAME: &str = "__Secure-mfa";
/// A browser stays known for a year after its last successful login.
const DEVICE_MAX_AGE: time::Duration = time::Duration::days(365);

/// What sets one cookie apart from the other: name, path and `SameSite`.
struct Kind {
    name: &'static str,
    prefixed: &'static str,
    path: &'static str,
    same_site: Option<SameSite>,
}

impl Kind {
    fn name(&self, settings: CookieSettings) -> &'static str {
        if settings.host_prefix {
            self.prefixed
        } else {
            self.name
        }
    }
}

/// The access cookie's name under `settings`.
pub fn access_name(settings: CookieSettings) -> &'static str {
    ACCESS.name(settings)
}

/// The refresh cookie's name under `settings`.
pub fn refresh_name(settings: CookieSettings) -> &'static str {
    REFRESH.name(settings)
}

/// The second-step cookie's name under `settings`.
pub fn mfa_name(settings: CookieSettings) -> &'static str {
    MFA.name(settings)
}

/// The device cookie's name under `settings`.
pub fn device_name(settings: CookieSettings) -> &'static str {
    DEVICE.name(settings)
}

const ACCESS: Kind = Kind {
    name: COOKIE_NAME,
    prefixed: HOST_COOKIE_NAME,
    path: "/",
    same_site: None, // from the configuration
};

/// The refresh cookie goes only to `/refresh`, and never with a cross-site request.
const REFRESH: Kind = Kind {
    name: REFRESH_COOKIE_NAME,
    prefixed: SECURE_REFRESH_COOKIE_NAME,
    path: REFRESH_PATH,
    same_site: Some(SameSite::Strict),
};

/// The device cookie (see [`super::device`]): never sent cross-site, outlives sessions.
const DEVICE: Kind = Kind {
    name: DEVICE_COOKIE_NAME,
    prefixed: SECURE_DEVICE_COOKIE_NAME,
    path: DEVICE_PATH,
    same_site: Some(SameSite::Strict),
};

/// A login's pending second step (see `auth::mfa::challenge`): sent to the login routes alone,
/// never cross-site, gone with the challenge.
const MFA: Kind = Kind {
    name: MFA_COOKIE_NAME,
    prefixed: SECURE_MFA_COOKIE_NAME,
    path: DEVICE_PATH,
    same_site: Some(SameSite::Strict),
};

fn build(
    kind: &Kind,
    value: String,
    max_age: time::Duration,
    settings: CookieSettings,
) -> Cookie<'static> {
    Cookie::build((kind.name(settings), value))
        .http_only(true)
        .secure(settings.secure)
        .same_site(kind.same_site.unwrap_or(settings.same_site))
        .path(kind.path)
        .max_age(max_age)
        .build()
}

/// A cookie that makes the browser drop the cookie of `kind` at once: the same name, path and
/// attributes, or browsers would keep the old one.
fn clearing_of(kind: &Kind, settings: CookieSettings) -> Cookie<'static> {
    let mut cookie = build(kind, String::new(), time::Duration::ZERO, settings);
    cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
    cookie
}

/// The session cookie holding `token`, living `max_age` (as long as the token), or, with
/// `None`, until the browser closes.
pub fn session(
    token: String,
    max_age: Option<time::Duration>,
    settings: CookieSettings,
) -> Cookie<'static> {
    lasting(&ACCESS, token, max_age, settings)
}

/// A cookie of `kind` living `max_age`, or without `Max-Age` for `None`.
fn lasting(
    kind: &Kind,
    value: String,
    max_age: Option<time::Duration>,
    settings: CookieSettings,
) -> Cookie<'static> {
    let mut cookie = build(kind, value, time::Duration::ZERO, settings);
    match max_age {
        Some(max_age) => cookie.set_max_age(max_age.max(time::Duration::ZERO)),
        None => cookie.set_max_age(None),
    }
    cookie
}

/// A cookie that makes the browser drop the session cookie at once.
pub fn clearing(settings: CookieSettings) -> Cookie<'static> {
    clearing_of(&ACCESS, settings)
}

/// A cookie that makes the browser drop the refresh cookie at once.
pub fn clearing_refresh(settings: CookieSettings) -> Cookie<'static> {
    clearing_of(&REFRESH, settings)
}

/// The device cookie holding `value`: "this browser logged in as ..." (it is not cleared at
/// logout: the browser stays known, which is the point).
pub fn device(value: String, settings: CookieSettings) -> Cookie<'static> {
    build(&DEVICE, value, DEVICE_MAX_AGE, settings)
}

/// The cookie naming a login's pending second step, living as long as the challenge.
pub fn mfa(token: String, ttl: time::Duration, settings: CookieSettings) -> Cookie<'static> {
    build(&MFA, token, ttl, settings)
}

/// A cookie that makes the browser drop the second-step cookie at once.
pub fn clearing_mfa(settings: CookieSettings) -> Cookie<'static> {
    clearing_of(&MFA, settings)
}

/// Sets both cookies of a session: the access token for every route, the refresh token for
/// `/refresh` only, each living as long as its token (so never past the session's end); or,
/// for a login that asked not to be remembered, without `Max-Age`: the browser drops them when
/// it closes. Returns the access token's claims.
pub fn set_pair(jar: &CookieJar<'_>, issued: Issued, settings: CookieSettings) -> Claims {
    // Counted from the token's issue, in whole seconds: a full lifetime is exactly `token_ttl`
    // and `refresh_ttl`, however long the request took since.
    let (access, refresh) = issued.lifetimes();
    let remembered = |max_age| issued.remember.then_some(max_age);
    jar.add(session(issued.access_token, remembered(access), settings));
    jar.add(lasting(
        &REFRESH,
        issued.refresh_token,
        remembered(refresh),
        settings,
    ));
    issued.claims
}

/// Clears both cookies of a session.
pub fn clear_pair(jar: &CookieJar<'_>, settings: CookieSettings) {
    jar.add(clearing(settings));
    jar.add(clearing_refresh(settings));
}
