//! The only place the `jwt` and `refresh` cookies' attributes are set and cleared.
//!
//! Rocket's `CookieJar::add` would default to `SameSite=Strict` without `HttpOnly`, and `Secure`
//! only under its own TLS, so every attribute is set here explicitly. The clearing cookie carries
//! the same name, path and attributes, or browsers would keep the old one.

use std::time::Duration;

use rocket::http::{Cookie, CookieJar, SameSite};
use time::OffsetDateTime;

use crate::config::{AppConfig, CookieSettings};

pub const COOKIE_NAME: &str = "jwt";
pub const REFRESH_COOKIE_NAME: &str = "refresh";
/// The refresh cookie goes only to the refresh route, never with ordinary requests.
pub const REFRESH_PATH: &str = "/refresh";

/// The session cookie holding `token`, living as long as the token.
pub fn session(token: String, ttl: Duration, settings: CookieSettings) -> Cookie<'static> {
    Cookie::build((COOKIE_NAME, token))
        .http_only(true)
        .secure(settings.secure)
        .same_site(settings.same_site)
        .path("/")
        .max_age(time::Duration::seconds(ttl.as_secs() as i64))
        .build()
}

/// A cookie that makes the browser drop the session cookie at once.
pub fn clearing(settings: CookieSettings) -> Cookie<'static> {
    Cookie::build((COOKIE_NAME, ""))
        .http_only(true)
        .secure(settings.secure)
        .same_site(settings.same_site)
        .path("/")
        .max_age(time::Duration::ZERO)
        .expires(OffsetDateTime::UNIX_EPOCH)
        .build()
}

/// The refresh cookie holding `token`: sent only to `/refresh`, never cross-site.
pub fn refresh(token: String, ttl: Duration, settings: CookieSettings) -> Cookie<'static> {
    Cookie::build((REFRESH_COOKIE_NAME, token))
        .http_only(true)
        .secure(settings.secure)
        .same_site(SameSite::Strict)
        .path(REFRESH_PATH)
        .max_age(time::Duration::seconds(ttl.as_secs() as i64))
        .build()
}

/// A cookie that makes the browser drop the refresh cookie at once (same name, path and
/// attributes, or the browser would keep it).
pub fn clearing_refresh(settings: CookieSettings) -> Cookie<'static> {
    Cookie::build((REFRESH_COOKIE_NAME, ""))
        .http_only(true)
        .secure(settings.secure)
        .same_site(SameSite::Strict)
        .path(REFRESH_PATH)
        .max_age(time::Duration::ZERO)
        .expires(OffsetDateTime::UNIX_EPOCH)
        .build()
}

/// Sets both cookies of a session: the access token for every route, the refresh token for
/// `/refresh` only.
pub fn set_pair(jar: &CookieJar<'_>, access: String, refresh_token: String, config: &AppConfig) {
    jar.add(session(access, config.token_ttl, config.cookie));
    jar.add(refresh(refresh_token, config.refresh.ttl, config.cookie));
}

/// Clears both cookies of a session.
pub fn clear_pair(jar: &CookieJar<'_>, settings: CookieSettings) {
    jar.add(clearing(settings));
    jar.add(clearing_refresh(settings));
}
