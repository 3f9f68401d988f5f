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
    /// A passkey's answer that does not verify, or whose ceremony is not pending.
    PasskeyRefused,
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
            | Self::NoChallenge
            | Self::PasskeyRefused => Status::Unauthorized,
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
            Self::PasskeyRefused => "passkey_refused",
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
            Self::PasskeyRefused => "the passkey was not accepted: start again".into(),
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
            AuthError::PasskeyRefused => Self::PasskeyRefused,
            AuthError::NoSuchPasskey => Self::NotFound("no such passkey"),
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

/// Records `err` as the reason a guard failed, for the catcher to answer with.
pub fn remember(req: &Request<'_>, err: ApiError) -> ApiError {
    let _ = req.local_cache(|| Some(err.clone()));
    err
}
