//! The only place the `jwt` cookie's attributes are set and cleared.
//!
//! Rocket's `CookieJar::add` would default to `SameSite=Strict` without `HttpOnly`, and `Secure`
//! only under its own TLS, so every attribute is set here explicitly. The clearing cookie carries
//! the same name, path and attributes, or browsers would keep the old one.

use std::time::Duration;

use rocket::http::Cookie;
use time::OffsetDateTime;

use crate::config::CookieSettings;

pub const COOKIE_NAME: &str = "jwt";

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
