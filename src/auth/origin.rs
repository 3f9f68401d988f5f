//! The same-origin rule: a state-changing request whose `Origin` is neither this server nor an
//! allowed origin is refused (403) before anything runs. Cookie authentication needs this, or any
//! site could make a logged-in browser post to us (CSRF).
//!
//! "This server" is the host the request was addressed to. A reverse proxy that rewrites `Host`
//! hides that, so behind one the public origin belongs in `allowed_origins`. The scheme is not
//! compared: a request from `http://` on our own host already implies control of our host.

use rocket::http::Method;
use rocket::request::{FromRequest, Outcome, Request};

use crate::config::AppConfig;
use crate::error::{remember, ApiError};

/// Request guard; put it first on every POST, PUT, PATCH and DELETE route.
pub struct SameOrigin;

/// Whether `origin` may change state on a server reached as `host`.
pub fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let authority = match origin.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return false, // "null", file://, garbage
    };
    match host {
        Some(host) => authority == host.to_ascii_lowercase(),
        None => false,
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SameOrigin {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let mutating = matches!(
            req.method(),
            Method::Post | Method::Put | Method::Patch | Method::Delete
        );
        let Some(origin) = req.headers().get_one("Origin") else {
            return Outcome::Success(SameOrigin);
        };
        if !mutating {
            return Outcome::Success(SameOrigin);
        }
        let allowed = req
            .rocket()
            .state::<AppConfig>()
            .map(|c| c.allowed_origins.as_slice())
            .unwrap_or(&[]);
        // Rocket's idea of the host (the `Host` header, or HTTP/2's `:authority`); requests
        // built in-process carry only the header.
        let host = req
            .host()
            .map(|h| h.to_string())
            .or_else(|| req.headers().get_one("Host").map(str::to_owned));
        if origin_allowed(origin, host.as_deref(), allowed) {
            Outcome::Success(SameOrigin)
        } else {
            let err = remember(req, ApiError::CrossOrigin);
            Outcome::Error((err.status(), err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_origin_and_allowed_origins_pass() {
        assert!(origin_allowed(
            "http://127.0.0.1:8000",
            Some("127.0.0.1:8000"),
            &[]
        ));
        assert!(origin_allowed(
            "https://App.Example",
            Some("app.example"),
            &[]
        ));
        assert!(origin_allowed(
            "https://spa.example",
            Some("api.example"),
            &["https://spa.example".into()]
        ));
    }

    #[test]
    fn foreign_null_and_lookalike_origins_are_refused() {
        assert!(!origin_allowed(
            "https://evil.example",
            Some("api.example"),
            &[]
        ));
        assert!(!origin_allowed("null", Some("api.example"), &[]));
        assert!(!origin_allowed(
            "https://api.example.evil.example",
            Some("api.example"),
            &[]
        ));
        assert!(!origin_allowed(
            "http://127.0.0.1:9000",
            Some("127.0.0.1:8000"),
            &[]
        ));
        assert!(!origin_allowed("https://api.example", None, &[]));
    }
}
