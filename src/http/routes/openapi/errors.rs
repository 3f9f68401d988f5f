//! The error envelope in the OpenAPI document: its schema ([`ErrorBody`], every code in
//! [`ErrorCode`]) and the error responses that many routes share, so that each handler's
//! annotation names them (`(status = 503, response = Unavailable)`) instead of repeating them.
//!
//! [`crate::http::error::ApiError`] writes the real body; these types exist only for their schema.
//! The test below holds the two together: every code `ApiError` can answer is listed in
//! [`ErrorCode`], and nothing else is.

#![expect(
    dead_code,
    reason = "schema-only types: ApiError writes the bodies they describe"
)]

use utoipa::{ToResponse, ToSchema};

/// The body of every 4xx and 5xx answer, Rocket's own included.
#[derive(ToSchema)]
#[schema(example = json!({ "error": "unauthorized", "message": "the session token has been revoked" }))]
pub struct ErrorBody {
    /// Stable, for programs to branch on.
    error: ErrorCode,
    /// For people; may change between versions.
    message: String,
    /// Only with `account_locked`, when the lock ends by itself (RFC 3339); absent when it lasts
    /// until an admin unlocks the account.
    #[schema(format = DateTime)]
    until: Option<String>,
}

/// Every code the server answers with, by status: 400 `bad_request`; 401 `unauthorized`,
/// `invalid_code`, `mfa_challenge_invalid`, `passkey_refused` or
/// `invalid_credentials`; 403 `forbidden`, `cross_origin_request` or `account_locked`; 404 `not_found`; 409
/// `username_taken` or `conflict`; 413 `payload_too_large`; 422 `unprocessable_entity`; 429
/// `too_many_requests`; 500 `internal_error`; 503 `service_unavailable`; and Rocket's own
/// `method_not_allowed`, `not_acceptable`, `length_required`, `unsupported_media_type`,
/// `request_header_fields_too_large`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    InvalidCredentials,
    InvalidCode,
    MfaChallengeInvalid,
    PasskeyRefused,
    Forbidden,
    CrossOriginRequest,
    AccountLocked,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    UsernameTaken,
    Conflict,
    LengthRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    UnprocessableEntity,
    TooManyRequests,
    RequestHeaderFieldsTooLarge,
    InternalError,
    ServiceUnavailable,
}

/// No valid session token: none presented, badly signed, expired, or revoked (`unauthorized`).
#[derive(ToResponse)]
pub struct Unauthorized(ErrorBody);

/// The caller's token lacks the admin role (`forbidden`).
#[derive(ToResponse)]
pub struct NotAdmin(ErrorBody);

/// A foreign `Origin` (neither this server, scheme included, nor `allowed_origins`), or no
/// `Origin` and a `Sec-Fetch-Site` of `cross-site` or `same-site`: nothing was changed
/// (`cross_origin_request`).
#[derive(ToResponse)]
pub struct CrossOrigin(ErrorBody);

/// The caller's token lacks the admin role (`forbidden`), or the request came from a foreign
/// `Origin` (`cross_origin_request`); nothing was changed.
#[derive(ToResponse)]
pub struct NotAdminOrCrossOrigin(ErrorBody);

/// The body is not JSON, or not UTF-8 (`bad_request`).
#[derive(ToResponse)]
pub struct NotJson(ErrorBody);

/// The body is larger than the `limits.json` setting (`payload_too_large`).
#[derive(ToResponse)]
pub struct TooLarge(ErrorBody);

/// Too many failed password checks (or sign-ups) from this client, on this account from
/// untrusted clients, or from this device (`too_many_requests`).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed.")))]
pub struct Throttled(ErrorBody);

/// The database cannot serve, or the revocation view cannot vouch that it is current: the
/// server fails closed rather than answer without checking (`service_unavailable`).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying (1).")))]
pub struct Unavailable(ErrorBody);

/// The database cannot serve or the revocation view cannot vouch that it is current (the
/// server fails closed), or the password hashing queue is full (the request was not attempted;
/// a login refused so does not count as a failure) (`service_unavailable`).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")))]
pub struct UnavailableOrBusy(ErrorBody);

/// Any other error, e.g. 404 for an unknown path, 405, 500 (`internal_error`): the same envelope.
#[derive(ToResponse)]
pub struct OtherError(ErrorBody);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rocket::http::Status;
    use utoipa::PartialSchema;

    use super::ErrorCode;
    use crate::http::error::ApiError;

    /// One `ApiError` of every kind. The match has no wildcard: a new variant does not compile
    /// until it is listed here, and then the test below asks for its code in the schema.
    fn every_error() -> Vec<ApiError> {
        let named = vec![
            ApiError::BadRequest(String::new()),
            ApiError::Unauthorized(""),
            ApiError::InvalidCredentials,
            ApiError::Forbidden(""),
            ApiError::CrossOrigin,
            ApiError::AccountLocked { until: None },
            ApiError::UsernameTaken,
            ApiError::NotFound(""),
            ApiError::Conflict(""),
            ApiError::Unprocessable(String::new()),
            ApiError::PayloadTooLarge,
            ApiError::TooManyRequests {
                retry_after_secs: 1,
                reason: crate::auth::error::Throttled::Failures,
            },
            ApiError::Unavailable,
            ApiError::Busy {
                retry_after_secs: 1,
            },
            ApiError::Internal,
            ApiError::InvalidCode(false),
            ApiError::NoChallenge,
            ApiError::PasskeyRefused,
        ];
        for err in &named {
            match err {
                ApiError::BadRequest(_)
                | ApiError::Unauthorized(_)
                | ApiError::InvalidCredentials
                | ApiError::InvalidCode(_)
                | ApiError::NoChallenge
                | ApiError::PasskeyRefused
                | ApiError::Forbidden(_)
                | ApiError::CrossOrigin
                | ApiError::AccountLocked { .. }
                | ApiError::UsernameTaken
                | ApiError::NotFound(_)
                | ApiError::Conflict(_)
                | ApiError::Unprocessable(_)
                | ApiError::PayloadTooLarge
                | ApiError::TooManyRequests { .. }
                | ApiError::Unavailable
                | ApiError::Busy { .. }
                | ApiError::Internal
                | ApiError::Other(_) => {}
            }
        }
        let others = (400..600).map(|code| ApiError::Other(Status::new(code)));
        named.into_iter().chain(others).collect()
    }

    #[test]
    fn the_schema_lists_exactly_the_codes_the_server_answers_with() {
        let answered: BTreeSet<String> =
            every_error().iter().map(|e| e.code().to_owned()).collect();
        let schema = serde_json::to_value(ErrorCode::schema()).expect("schema serializes");
        let documented: BTreeSet<String> = schema["enum"]
            .as_array()
            .expect("ErrorCode is a string enum")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let undocumented: Vec<_> = answered.difference(&documented).collect();
        let never_answered: Vec<_> = documented.difference(&answered).collect();
        assert!(
            undocumented.is_empty() && never_answered.is_empty(),
            "ErrorCode must list exactly the codes ApiError::code() can return; \
             answered but not in ErrorCode: {undocumented:?}; in ErrorCode but never answered: \
             {never_answered:?}"
        );
    }
}
