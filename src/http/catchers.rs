//! The JSON catchers: every error Rocket itself answers (no route, a guard that failed, a body
//! too large) gets the same `{"error", "message"}` body as the handlers' errors.

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::{catch, catchers, Catcher};

use super::error::ApiError;
use crate::auth::error::Throttled;

pub fn catchers() -> Vec<Catcher> {
    catchers![json_catcher]
}

/// A catcher's answer: the error, and on a 405 the `Allow` header that HTTP requires with it.
struct Caught {
    error: ApiError,
    allow: Option<String>,
}

impl<'r> Responder<'r, 'static> for Caught {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.error.respond_to(req)?;
        if let Some(allow) = self.allow {
            res.set_raw_header("Allow", allow);
        }
        Ok(res)
    }
}

/// Answers with the error a guard left in the request's cache, or a generic one for the status.
/// A 404 for a path that other methods serve becomes a 405 naming them: Rocket 0.5 routes by
/// method and path together and so answers 404 where HTTP (and the OpenAPI document) mean 405.
#[catch(default)]
fn json_catcher(status: Status, req: &Request<'_>) -> Caught {
    let cached: &Option<ApiError> = req.local_cache(|| None);
    let error = match cached {
        Some(err) if err.status() == status => err.clone(),
        _ => generic(status),
    };
    if status == Status::NotFound && cached.is_none() {
        if let Some(allow) = allowed_methods(req) {
            let error = ApiError::Other(Status::MethodNotAllowed);
            return Caught {
                error,
                allow: Some(allow),
            };
        }
    }
    Caught { error, allow: None }
}

/// The methods of the routes whose path matches the request's, when none of them has the
/// request's method (`GET, PATCH`), or `None`.
fn allowed_methods(req: &Request<'_>) -> Option<String> {
    let path = req.uri().path();
    let mut methods: Vec<&str> = Vec::new();
    for route in req.rocket().routes() {
        if !path_matches(route.uri.path(), path.as_str()) {
            continue;
        }
        if route.method == req.method() {
            return None;
        }
        methods.push(route.method.as_str());
    }
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// Whether a route's path (`/api/users/<username>`, `/assets/<file..>`) matches a request path.
fn path_matches(route: &str, path: &str) -> bool {
    let mut wanted = route.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), _) if w.starts_with('<') && w.ends_with("..>") => return true,
            (Some(w), Some(_)) if w.starts_with('<') && w.ends_with('>') => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

fn generic(status: Status) -> ApiError {
    match status.code {
        400 => ApiError::BadRequest("the request could not be understood".into()),
        401 => ApiError::Unauthorized("a valid session token is required"),
        403 => ApiError::Forbidden("this action is not allowed"),
        413 => ApiError::PayloadTooLarge,
        422 => ApiError::Unprocessable(
            "the request is well-formed but its content is not acceptable".into(),
        ),
        429 => ApiError::TooManyRequests {
            retry_after_secs: 1,
            reason: Throttled::Failures,
        },
        503 => ApiError::Unavailable,
        500 => ApiError::Internal,
        _ => ApiError::Other(status),
    }
}
