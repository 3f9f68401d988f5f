//! Request guards: [`AuthUser`] (a valid, unrevoked token), [`AdminUser`] (built on it) and
//! [`PresentedToken`] (whatever correctly signed token came along, revoked or expired or not,
//! for logout).
//!
//! A bad token is an error (401), never a forward to another route; when revocation cannot be
//! checked the guard fails closed (503). The reason is left for the JSON catcher.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use time::OffsetDateTime;
use uuid::Uuid;

use super::claims::{Claims, TokenCodec, TokenError};
use super::cookie::COOKIE_NAME;
use crate::domain::Role;
use crate::error::{remember, ApiError};
use crate::revocation::{Presented, Revocation};
use crate::telemetry::metrics::{Metrics, Rejection};

/// The caller of a protected route.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub username: String,
    pub role: Role,
    pub jti: Uuid,
    /// The session the token belongs to (`None` for tokens from before sessions).
    pub sid: Option<Uuid>,
    pub expires_at: OffsetDateTime,
}

/// A caller whose token carries the `admin` role.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

/// The claims of a correctly signed token, if the request carried one, and whether it has
/// expired (its session can still be ended; its id needs no blacklisting).
pub struct PresentedToken(pub Option<(Claims, bool)>);

/// The raw token: `Authorization: Bearer` first (an API client's explicit choice), else the cookie.
fn raw_token<'r>(req: &'r Request<'_>) -> Option<&'r str> {
    let bearer = req.headers().get_one("Authorization").and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    bearer
        .or_else(|| req.cookies().get(COOKIE_NAME).map(|c| c.value()))
        .filter(|t| !t.is_empty())
}

/// Refuses the request, counting the reason in the metrics.
fn fail<T>(req: &Request<'_>, (reason, err): (Rejection, ApiError)) -> Outcome<T, ApiError> {
    if let Some(metrics) = req.rocket().state::<Metrics>() {
        metrics.rejected(reason);
    }
    let err = remember(req, err);
    Outcome::Error((err.status(), err))
}

fn decode(req: &Request<'_>) -> Result<Claims, (Rejection, ApiError)> {
    let codec = req
        .rocket()
        .state::<TokenCodec>()
        .ok_or((Rejection::unavailable, ApiError::Internal))?;
    let token = raw_token(req).ok_or((
        Rejection::missing,
        ApiError::Unauthorized("no session token was presented"),
    ))?;
    codec.decode(token).map_err(|e| match e {
        TokenError::Expired => (
            Rejection::expired,
            ApiError::Unauthorized("the session token has expired"),
        ),
        TokenError::Invalid => (
            Rejection::invalid,
            ApiError::Unauthorized("the session token is invalid"),
        ),
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let claims = match decode(req) {
            Ok(claims) => claims,
            Err(err) => return fail(req, err),
        };
        let Some(revocation) = req.rocket().state::<Revocation>() else {
            return fail(req, (Rejection::unavailable, ApiError::Internal));
        };
        let presented = Presented {
            jti: claims.jti,
            sid: claims.sid,
            username: &claims.sub,
            issued_at: claims.iat,
        };
        match revocation.check(presented).await {
            Ok(false) => Outcome::Success(AuthUser {
                expires_at: claims.expires_at(),
                username: claims.sub,
                role: claims.role,
                jti: claims.jti,
                sid: claims.sid,
            }),
            Ok(true) => fail(
                req,
                (
                    Rejection::revoked,
                    ApiError::Unauthorized("the session token has been revoked"),
                ),
            ),
            Err(cause) => fail(req, (Rejection::unavailable, ApiError::from(cause))),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminUser {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match AuthUser::from_request(req).await {
            Outcome::Success(user) if user.role == Role::Admin => Outcome::Success(AdminUser(user)),
            Outcome::Success(_) => fail(
                req,
                (
                    Rejection::forbidden,
                    ApiError::Forbidden("this action needs the admin role"),
                ),
            ),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(_) => fail(
                req,
                (
                    Rejection::missing,
                    ApiError::Unauthorized("a valid session token is required"),
                ),
            ),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PresentedToken {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match decode(req) {
            Ok(claims) => Outcome::Success(PresentedToken(Some((claims, false)))),
            Err((_, ApiError::Internal)) => {
                Outcome::Error((Status::InternalServerError, ApiError::Internal))
            }
            Err(_) => {
                let expired = req
                    .rocket()
                    .state::<TokenCodec>()
                    .zip(raw_token(req))
                    .and_then(|(codec, token)| codec.decode_any_age(token).ok());
                Outcome::Success(PresentedToken(expired.map(|claims| (claims, true))))
            }
        }
    }
}
