//! The same-origin rule: a state-changing request from another site is refused (403) before
//! anything runs. Cookie authentication needs this, or any site could make a logged-in browser
//! post to us (CSRF).
//!
//! With an `Origin` header, it must be this server's own origin or one of `allowed_origins`,
//! scheme included. "This server" is `https://<host>` when the public side speaks HTTPS (Rocket's
//! own TLS, or `cookie_secure = true`, which says a proxy terminates TLS in front of us) and
//! `http://<host>` otherwise, where `<host>` is the host the request was addressed to. The scheme
//! is compared because `http://` on our host is not us: whoever can inject into plain-HTTP
//! traffic on the network path controls that origin. A reverse proxy that rewrites `Host` hides
//! the public host, so behind one the public origin belongs in `allowed_origins` (matched exactly,
//! scheme and port included).
//!
//! Without `Origin`, the browser's `Sec-Fetch-Site` decides: `cross-site` is refused, and so is
//! `same-site`, because a sibling subdomain (another team's app, a user-content host) is another
//! origin that may be hostile; any value the specification does not name is refused too (fail
//! closed). `same-origin`, `none` (typed by the user) and no header at all are let through:
//! browsers that send neither header predate both, and non-browser clients (curl, newman, API
//! clients) send neither and hold no ambient cookie for a site to abuse.

use rocket::http::Method;
use rocket::request::{FromRequest, Outcome, Request};

use super::error::{remember, ApiError};
use crate::app::App;

/// Request guard; put it first on every POST, PUT, PATCH and DELETE route.
pub struct SameOrigin;

/// The scheme of this server's public origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Whether `origin` may change state on a server reached as `host` over `scheme`.
pub fn origin_allowed(
    origin: &str,
    scheme: Scheme,
    host: Option<&str>,
    allowed: &[String],
) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let Some(authority) = origin
        .strip_prefix(scheme.as_str())
        .and_then(|r| r.strip_prefix("://"))
    else {
        return false; // the other scheme, "null", file://, garbage
    };
    match host {
        Some(host) => authority == host.to_ascii_lowercase(),
        None => false,
    }
}

/// Whether a request without `Origin` may change state, given its `Sec-Fetch-Site`.
pub fn fetch_site_allowed(sec_fetch_site: Option<&str>) -> bool {
    match sec_fetch_site.map(|v| v.trim().to_ascii_lowercase()) {
        None => true,
        Some(site) => matches!(site.as_str(), "same-origin" | "none"),
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
        if !mutating {
            return Outcome::Success(SameOrigin);
        }
        let config = req.rocket().state::<App>().map(|app| &app.config);
        let allowed_here = match req.headers().get_one("Origin") {
            None => fetch_site_allowed(req.headers().get_one("Sec-Fetch-Site")),
            Some(origin) => {
                let allowed = config.map(|c| c.allowed_origins.as_slice()).unwrap_or(&[]);
                let https =
                    req.rocket().config().tls_enabled() || config.is_some_and(|c| c.cookie.secure);
                let scheme = if https { Scheme::Https } else { Scheme::Http };
                // Rocket's idea of the host (the `Host` header, or HTTP/2's `:authority`);
                // requests built in-process carry only the header.
                let host = req
                    .host()
                    .map(|h| h.to_string())
                    .or_else(|| req.headers().get_one("Host").map(str::to_owned));
                origin_allowed(origin, scheme, host.as_deref(), allowed)
            }
        };
        if allowed_here {
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
            Scheme::Http,
            Some("127.0.0.1:8000"),
            &[]
        ));
        assert!(origin_allowed(
            "https://App.Example",
            Scheme::Https,
            Some("app.example"),
            &[]
        ));
        assert!(origin_allowed(
            "https://spa.example",
            Scheme::Http,
            Some("api.example"),
            &["https://spa.example".into()]
        ));
    }

    #[test]
    fn foreign_null_and_lookalike_origins_are_refused() {
        for scheme in [Scheme::Http, Scheme::Https] {
            let s = scheme.as_str();
            let host = Some("api.example");
            assert!(!origin_allowed("https://evil.example", scheme, host, &[]));
            assert!(!origin_allowed("null", scheme, host, &[]));
            assert!(!origin_allowed(
                &format!("{s}://api.example.evil.example"),
                scheme,
                host,
                &[]
            ));
            assert!(!origin_allowed(
                &format!("{s}://127.0.0.1:9000"),
                scheme,
                Some("127.0.0.1:8000"),
                &[]
            ));
            assert!(!origin_allowed(
                &format!("{s}://api.example"),
                scheme,
                None,
                &[]
            ));
            assert!(!origin_allowed(
                &format!("{s}s://api.example"),
                scheme,
                host,
                &[]
            ));
        }
    }

    #[test]
    fn the_scheme_is_compared() {
        let host = Some("api.example");
        assert!(!origin_allowed(
            "https://api.example",
            Scheme::Http,
            host,
            &[]
        ));
        assert!(!origin_allowed(
            "http://api.example",
            Scheme::Https,
            host,
            &[]
        ));
        assert!(!origin_allowed(
            "ftp://api.example",
            Scheme::Http,
            host,
            &[]
        ));
        // Allowed origins are matched exactly, scheme included.
        let allowed = ["https://spa.example".to_owned()];
        assert!(!origin_allowed(
            "http://spa.example",
            Scheme::Https,
            host,
            &allowed
        ));
    }

    #[test]
    fn without_origin_only_cross_site_and_same_site_fetches_are_refused() {
        for site in ["cross-site", "same-site", "Cross-Site", "something-new"] {
            assert!(!fetch_site_allowed(Some(site)), "{site}");
        }
        for site in [None, Some("same-origin"), Some("none")] {
            assert!(fetch_site_allowed(site), "{site:?}");
        }
    }
}
