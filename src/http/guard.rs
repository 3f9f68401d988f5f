//! Request guards: [`AuthUser`] (a valid, unrevoked token), [`AdminUser`] (built on it) and
//! [`PresentedTokens`] (every correctly signed token that came along, revoked or expired or not,
//! for logout).
//!
//! A bad token is an error (401), never a forward to another route; when revocation cannot be
//! checked the guard fails closed (503). The reason is left for the JSON catcher.

use rocket::http::{Cookie, Status};
use rocket::request::{FromRequest, Outcome, Request};
use time::OffsetDateTime;
use uuid::Uuid;

use super::cookie;
use super::error::{remember, ApiError};
use crate::app::App;
use crate::auth::claims::{Claims, TokenError};
use crate::domain::Role;
use crate::revocation::Presented;
use crate::telemetry::metrics::Rejection;

/// The caller of a protected route.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub username: String,
    pub role: Role,
    pub jti: Uuid,
    /// The session the token belongs to.
    pub sid: Uuid,
    /// The account's id.
    pub uid: Uuid,
    pub expires_at: OffsetDateTime,
}

/// A caller whose token carries the `admin` role.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

/// Every correctly signed token the request carried (the bearer header and every access
/// cookie, the same token once), expired or not.
///
/// Logout takes all of them, not just the one [`AuthUser`] would pick: a client that sends a
/// stale bearer header along with a valid cookie must not be told it logged out while the
/// cookie's token stays valid.
pub struct PresentedTokens(pub Vec<PresentedToken>);

/// A correctly signed token as logout sees it.
pub struct PresentedToken {
    pub claims: Claims,
    /// Past its expiry: its session can still be ended; its id needs no blacklisting.
    pub expired: bool,
}

/// The bearer token of `Authorization`, if any.
fn bearer_token<'r>(req: &'r Request<'_>) -> Option<&'r str> {
    req.headers()
        .get_one("Authorization")
        .and_then(|h| {
            let (scheme, token) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

/// Every distinct non-empty value of the access cookie in the request's `Cookie` headers,
/// borrowed from the request (this runs on every guarded request). A browser sends two cookies
/// of one name when a sibling subdomain planted one with a wider `Domain` (cookie tossing);
/// Rocket's jar would keep just one of them.
fn cookie_tokens<'r>(req: &'r Request<'_>, app: &App) -> Vec<&'r str> {
    let name = cookie::access_name(app.config.cookie);
    // The jar's value first (in-process requests carry their cookies only there), then every
    // value in the headers, which the jar keeps only one of.
    let jar = req.cookies().get(name).map(|c| c.value());
    let mut values: Vec<&'r str> = jar.filter(|v| !v.is_empty()).into_iter().collect();
    for header in req.headers().get("Cookie") {
        for parsed in Cookie::split_parse(header).flatten() {
            let Some(value) = parsed.value_raw().filter(|_| parsed.name() == name) else {
                continue;
            };
            if !value.is_empty() && !values.contains(&value) {
                values.push(value);
            }
        }
    }
    values
}

/// The raw token: `Authorization: Bearer` first (an API client's explicit choice), else the
/// cookie; two different access cookies are refused, as nobody can tell which one is meant.
fn raw_token<'r>(
    req: &'r Request<'_>,
    app: &App,
) -> Result<Option<&'r str>, (Rejection, ApiError)> {
    let mut cookies = cookie_tokens(req, app);
    if cookies.len() > 1 {
        return Err((
            Rejection::invalid,
            ApiError::Unauthorized(
                "the request carries two different session cookies (one may have been set by \
                 another site of the same parent domain): log out to clear them",
            ),
        ));
    }
    Ok(bearer_token(req).or_else(|| cookies.pop()))
}

/// Refuses the request, counting the reason in the metrics.
fn fail<T>(req: &Request<'_>, (reason, err): (Rejection, ApiError)) -> Outcome<T, ApiError> {
    if let Some(app) = req.rocket().state::<App>() {
        app.metrics.rejected(reason);
    }
    let err = remember(req, err);
    Outcome::Error((err.status(), err))
}

fn decode(req: &Request<'_>, app: &App) -> Result<Claims, (Rejection, ApiError)> {
    let codec = &app.codec;
    let token = raw_token(req, app)?.ok_or((
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
        // One lookup of the state per request: this runs on every guarded route.
        let Some(app) = req.rocket().state::<App>() else {
            return fail(req, (Rejection::unavailable, ApiError::Internal));
        };
        let claims = match decode(req, app) {
            Ok(claims) => claims,
            Err(err) => return fail(req, err),
        };
        let presented = Presented {
            jti: claims.jti,
            sid: claims.sid,
            username: &claims.sub,
        };
        match app.revocation.check(presented).await {
            Ok(false) => Outcome::Success(AuthUser {
                expires_at: claims.expires_at(),
                username: claims.sub,
                role: claims.role,
                jti: claims.jti,
                sid: claims.sid,
                uid: claims.uid,
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
impl<'r> FromRequest<'r> for PresentedTokens {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ApiError::Internal));
        };
        let codec = &app.codec;
        let mut tokens: Vec<PresentedToken> = Vec::with_capacity(2);
        for raw in bearer_token(req).into_iter().chain(cookie_tokens(req, app)) {
            let signed = match codec.decode_once(raw) {
                Ok(claims) => Some(PresentedToken {
                    claims,
                    expired: false,
                }),
                // Correctly signed but expired: still ends its session.
                Err(_) => codec.decode_any_age(raw).ok().map(|claims| PresentedToken {
                    claims,
                    expired: true,
                }),
            };
            if let Some(token) = signed {
                if !tokens
                    .iter()
                    .any(|seen| seen.claims.jti == token.claims.jti)
                {
                    tokens.push(token);
                }
            }
        }
        Outcome::Success(PresentedTokens(tokens))
    }
}
