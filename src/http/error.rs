//! The one error type of the HTTP layer, the JSON catchers, and the one mapping from domain
//! outcomes ([`AuthError`], [`DbError`], [`CheckError`]) to statuses and messages.
//!
//! Rules for the whole crate: every 4xx/5xx answer has the body
//! `{"error": "<snake_case_code>", "message": "<text for humans>"}`; codes are stable; internal
//! causes are logged here, once, and never sent to the client; no token, cookie or password ever
//! appears in a message or a log line. Request guards that fail leave an [`ApiError`] in the
//! request's local cache, and the catcher for their status answers with it.

use std::io::Cursor;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::{self, serde_json};
use rocket::{catch, catchers, Catcher};

use time::format_description::well_known::Rfc3339;

use crate::auth::error::{AuthError, Throttled};
use crate::db::DbError;
use crate::revocation::CheckError;

/// What a 429 says happened, by the limit it hit.
fn says(limit: Throttled) -> &'static str {
    match limit {
        Throttled::Failures => "too many failed attempts",
        Throttled::Logins => "too many logins from this address",
        Throttled::SignUps => "too many sign-ups from this address",
        Throttled::InFlight => "too many password checks from this address at once",
    }
}

/// An error answer: status, stable code and a message that is safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized(&'static str),
    InvalidCredentials,
    /// A wrong or used second-factor code; `true` when the challenge took its last failure.
    InvalidCode(bool),
    /// No second step pending for the `mfa` cookie presented (or none presented).
    NoChallenge,
    Forbidden(&'static str),
    CrossOrigin,
    /// The password was right but the account is locked (until then, when it ends).
    AccountLocked {
        until: Option<String>,
    },
    UsernameTaken,
    NotFound(&'static str),
    /// The change would break a rule (e.g. removing the last admin).
    Conflict(&'static str),
    Unprocessable(String),
    PayloadTooLarge,
    TooManyRequests {
        retry_after_secs: u64,
        reason: Throttled,
    },
    Unavailable,
    /// Too much work already waits (the password hashing queue is full): try again shortly.
    Busy {
        retry_after_secs: u64,
    },
    Internal,
    /// Any other status (404, 405, ...), answered by a catcher with a code from its reason.
    Other(Status),
}

impl ApiError {
    pub fn status(&self) -> Status {
        match self {
            Self::BadRequest(_) => Status::BadRequest,
            Self::Unauthorized(_)
            | Self::InvalidCredentials
            | Self::InvalidCode(_)
            | Self::NoChallenge => Status::Unauthorized,
            Self::Forbidden(_) | Self::CrossOrigin | Self::AccountLocked { .. } => {
                Status::Forbidden
            }
            Self::UsernameTaken | Self::Conflict(_) => Status::Conflict,
            Self::NotFound(_) => Status::NotFound,
            Self::Unprocessable(_) => Status::UnprocessableEntity,
            Self::PayloadTooLarge => Status::PayloadTooLarge,
            Self::TooManyRequests { .. } => Status::TooManyRequests,
            Self::Unavailable | Self::Busy { .. } => Status::ServiceUnavailable,
            Self::Internal => Status::InternalServerError,
            Self::Other(status) => *status,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode(_) => "invalid_code",
            Self::NoChallenge => "mfa_challenge_invalid",
            Self::Forbidden(_) => "forbidden",
            Self::CrossOrigin => "cross_origin_request",
            Self::AccountLocked { .. } => "account_locked",
            Self::UsernameTaken => "username_taken",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unprocessable(_) => "unprocessable_entity",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable | Self::Busy { .. } => "service_unavailable",
            Self::Internal => "internal_error",
            Self::Other(status) => match status.code {
                404 => "not_found",
                405 => "method_not_allowed",
                406 => "not_acceptable",
                411 => "length_required",
                415 => "unsupported_media_type",
                431 => "request_header_fields_too_large",
                500..=599 => "internal_error",
                _ => "bad_request",
            },
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::BadRequest(m) | Self::Unprocessable(m) => m.clone(),
            Self::Unauthorized(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) => {
                (*m).to_owned()
            }
            Self::InvalidCredentials => "username or password is incorrect".into(),
            Self::InvalidCode(false) => "the code is wrong or was already used".into(),
            Self::InvalidCode(true) => "wrong code, and the last one allowed: log in again".into(),
            Self::NoChallenge => "no second step is pending: log in again".into(),
            Self::CrossOrigin => "cross-origin requests that change state are refused".into(),
            Self::UsernameTaken => "that username is already taken".into(),
            Self::AccountLocked { until: Some(until) } => {
                format!("this account is locked until {until}")
            }
            Self::AccountLocked { until: None } => {
                "this account is locked; an admin can unlock it".into()
            }
            Self::PayloadTooLarge => "the request body is larger than the server accepts".into(),
            Self::TooManyRequests {
                retry_after_secs,
                reason,
            } => format!("{}; try again in {retry_after_secs} s", says(*reason)),
            Self::Unavailable => "the session store cannot be reached; try again shortly".into(),
            Self::Busy { retry_after_secs } => {
                format!("the server is busy; try again in {retry_after_secs} s")
            }
            Self::Internal => "the server could not complete the request".into(),
            Self::Other(status) if status.code == 404 => "no such resource".into(),
            Self::Other(status) => status.reason_lossy().to_ascii_lowercase(),
        }
    }

    /// The error for a JSON body that could not be read, without echoing the body back.
    pub fn from_json(err: &json::Error<'_>) -> Self {
        match err {
            json::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Self::PayloadTooLarge
            }
            json::Error::Io(_) => {
                Self::BadRequest("the request body is not valid UTF-8 text".into())
            }
            json::Error::Parse(_, e) => match e.classify() {
                serde_json::error::Category::Data => {
                    let text = e.to_string();
                    let named = ["missing field", "unknown field", "duplicate field"];
                    if named.iter().any(|p| text.starts_with(p)) && !text.contains('"') {
                        Self::Unprocessable(format!("the request body does not match: {text}"))
                    } else {
                        Self::Unprocessable(format!(
                            "the request body does not match the expected fields or types (line {}, column {})",
                            e.line(),
                            e.column()
                        ))
                    }
                }
                _ => Self::BadRequest(format!(
                    "the request body is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                )),
            },
        }
    }

    fn body(&self) -> String {
        let mut body = serde_json::json!({ "error": self.code(), "message": self.message() });
        if let Self::AccountLocked { until: Some(until) } = self {
            body["until"] = until.clone().into();
        }
        body.to_string()
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => {
                rocket::error!("database unavailable: {cause}");
                Self::Unavailable
            }
            DbError::TimedOut(bound) => {
                rocket::error!(
                    "database call gave up after db_timeout_ms = {}",
                    bound.as_millis()
                );
                Self::Unavailable
            }
            DbError::Query(cause) => {
                rocket::error!("database query failed: {cause}");
                Self::Unavailable
            }
            DbError::Internal(cause) => {
                rocket::error!("database task failed: {cause}");
                Self::Internal
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => Self::InvalidCredentials,
            AuthError::Locked { until } => Self::AccountLocked {
                until: until.and_then(|t| t.format(&Rfc3339).ok()),
            },
            AuthError::InvalidCode { challenge_ended } => Self::InvalidCode(challenge_ended),
            AuthError::ChallengeGone => Self::NoChallenge,
            AuthError::FactorState(why) => Self::Conflict(why),
            AuthError::Invalid(why) => Self::Unprocessable(why),
            AuthError::UsernameTaken => Self::UsernameTaken,
            AuthError::Throttled { limit, wait } => Self::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
                reason: limit,
            },
            AuthError::Busy => Self::Busy {
                retry_after_secs: 1,
            },
            AuthError::NoSuchUser => Self::NotFound("no such user"),
            AuthError::NoSuchSession => Self::NotFound("no such session"),
            AuthError::AccountGone => Self::Unauthorized("the account no longer exists"),
            AuthError::LastAdmin => {
                Self::Conflict("this is the last admin: promote another user first")
            }
            AuthError::AccountChanged => {
                Self::Conflict("the account changed while this request was checked; try again")
            }
            AuthError::RefreshDead => Self::Unauthorized(
                "the refresh token is unknown, expired, or its session has ended",
            ),
            AuthError::RefreshReused => Self::Unauthorized(
                "this refresh token was already used: the session has ended on every device",
            ),
            AuthError::Store(cause) => Self::from(cause),
            AuthError::Internal => Self::Internal,
        }
    }
}

impl From<CheckError> for ApiError {
    fn from(err: CheckError) -> Self {
        match err {
            CheckError::Db(cause) => Self::from(cause),
            // Logged by the listener when it loses its connection, not once per request.
            CheckError::Stale => Self::Unavailable,
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = self.body();
        let mut res = Response::build();
        res.status(self.status())
            .header(ContentType::JSON)
            .sized_body(body.len(), Cursor::new(body));
        match &self {
            Self::TooManyRequests {
                retry_after_secs, ..
            }
            | Self::Busy { retry_after_secs } => {
                res.header(Header::new("Retry-After", retry_after_secs.to_string()));
            }
            _ if self.status() == Status::ServiceUnavailable => {
                res.header(Header::new("Retry-After", "1"));
            }
            _ => {}
        }
        Ok(res.finalize())
    }
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

/// Records `err` as the reason a guard failed, for the catcher to answer with.
pub fn remember(req: &Request<'_>, err: ApiError) -> ApiError {
    let _ = req.local_cache(|| Some(err.clone()));
    err
}

pub fn catchers() -> Vec<Catcher> {
    catchers![json_catcher]
}
