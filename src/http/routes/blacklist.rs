//! `POST /blacklist/logout`, `POST /blacklist/logout-all`, `GET /blacklist` (and
//! `/blacklist/`), `GET /blacklist/hourly`, `POST /blacklist/purge`.

use rocket::http::uri::Origin;
use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, post, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::openapi::errors::{
    CrossOrigin, ErrorBody, NotAdmin, NotAdminOrCrossOrigin, Unauthorized, Unavailable,
};
use super::params::{given_at_most_once, parse_param};
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::auth::accounts;
use crate::db::from_db_time;
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::guard::{AdminUser, AuthUser, PresentedToken, PresentedTokens};
use crate::http::origin::SameOrigin;
use crate::jobs;
use crate::revocation::Revoked;
use crate::telemetry::metrics::LogoutKind;

pub fn routes() -> Vec<Route> {
    routes![logout, logout_all, list, hourly, purge]
}

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct LoggedOut {
    /// Whether a correctly signed token came along (and every such token was revoked).
    logged_out: bool,
}

/// Log out: every token presented is revoked, its session ends, both cookies are cleared.
///
/// Revokes every correctly signed token the request carries (the bearer header's and every
/// `jwt` cookie's, even when they belong to different users: this client held them all) and
/// ends their sessions, all committed before answering, and clears both cookies. A token ends
/// its session only if it is the session's latest (or was issued within `refresh_reuse_grace`
/// before it, by a tab refreshing at the same moment), expired or not: an older token, say a
/// weeks-old one, ends nothing (`logged_out: false` when it is expired). Without a correctly signed token there
/// is nothing to revoke, and the answer is still 200 with the cookies cleared. If any write
/// fails the answer is 503 and the cookies are kept: a retry revokes again what already was,
/// harmlessly.
#[utoipa::path(
    tag = "blacklist",
    responses(
        (status = 200, description = "Logged out (committed): every signed token presented (bearer and cookie) is revoked; also without a valid token, with `logged_out: false`.", body = LoggedOut,
            headers(("Set-Cookie" = String, description = "Both cookies cleared: `jwt=` and `refresh=` with `Max-Age=0`, an `Expires` in 1970 and the same attributes as when set."))),
        (status = 403, response = CrossOrigin),
        (status = 503, description = "A revocation could not be committed; the cookies are kept, so the client can retry (`service_unavailable`).", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying (1)."))),
    ),
    security((), ("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/blacklist/logout")]
async fn logout(
    _origin: SameOrigin,
    source: Source,
    tokens: PresentedTokens,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoggedOut>, ApiError> {
    // A live token is revoked whatever else happens; an expired one counts only if it ended
    // its session (it was the session's latest).
    let mut revoked = tokens.0.iter().any(|token| !token.expired);
    let now = OffsetDateTime::now_utc();
    // Submitted together, so the writer commits them in one group and the whole logout stays
    // within one `db_timeout_ms`; any failure answers 503 before the cookies are cleared.
    let logouts = tokens
        .0
        .into_iter()
        .map(|PresentedToken { claims, expired }| {
            let latest_from = OffsetDateTime::from_unix_timestamp(claims.iat)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                + app.config.refresh.reuse_grace;
            let session = Some((claims.sid, latest_from));
            let event = Event::new(Kind::Logout, Actor::Subject, source.clone())
                .about(&claims.sub, &claims.uid.to_string())
                .session(claims.sid);
            let token = (!expired).then(|| Revoked {
                jti: claims.jti,
                expires_at: claims.expires_at(),
                username: claims.sub,
            });
            app.revocation.logout(token, session, now, Some(event))
        });
    for outcome in rocket::futures::future::try_join_all(logouts).await? {
        revoked |= outcome.sessions_ended > 0;
        app.metrics.logout(LogoutKind::token);
    }
    cookie::clear_pair(jar, app.config.cookie);
    Ok(Json(LoggedOut {
        logged_out: revoked,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct LoggedOutEverywhere {
    logged_out: bool,
    sessions_ended: usize,
}

/// Log out everywhere: every session of the caller ends.
///
/// Ends every session of the caller and refuses every access token of theirs issued so far,
/// on every instance; clears both cookies.
#[utoipa::path(
    tag = "blacklist",
    responses(
        (status = 200, description = "Every session of the caller has ended.", body = LoggedOutEverywhere,
            headers(("Set-Cookie" = String, description = "Both cookies cleared: `jwt=` and `refresh=` with `Max-Age=0`, an `Expires` in 1970 and the same attributes as when set."))),
        (status = 401, response = Unauthorized),
        (status = 403, response = CrossOrigin),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/blacklist/logout-all")]
async fn logout_all(
    _origin: SameOrigin,
    user: AuthUser,
    source: Source,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoggedOutEverywhere>, ApiError> {
    let ended = accounts::logout_everywhere(app, &user.username, user.sid, source).await?;
    app.metrics.logout(LogoutKind::everywhere);
    cookie::clear_pair(jar, app.config.cookie);
    Ok(Json(LoggedOutEverywhere {
        logged_out: true,
        sessions_ended: ended,
    }))
}

/// A revoked token: its id, never the token.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
#[schema(as = BlacklistEntry)]
pub struct Item {
    #[schema(format = Uuid)]
    jti: String,
    username: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    blacklisted_at: OffsetDateTime,
}

/// One page of the blacklist, newest first (ties by `jti`).
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
#[schema(as = BlacklistPage)]
pub struct Page {
    items: Vec<Item>,
    /// Rows in the whole blacklist.
    total: i64,
}

/// The blacklist (admin), newest first.
#[utoipa::path(
    tag = "blacklist",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Rows per page, 1 to 1000; 100 if absent."),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Rows to skip; 0 if absent."),
    ),
    responses(
        (status = 200, description = "One page, and the total.", body = Page),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 422, description = "`limit` or `offset` is not an integer in its range, or is given more than once (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[get("/blacklist?<limit>&<offset>")]
async fn list(
    _admin: AdminUser,
    limit: Option<&str>,
    offset: Option<&str>,
    uri: &Origin<'_>,
    app: &State<App>,
) -> Result<Json<Page>, ApiError> {
    given_at_most_once(uri, "limit")?;
    given_at_most_once(uri, "offset")?;
    let limit = parse_param("limit", limit, DEFAULT_LIMIT, 1..=MAX_LIMIT)?;
    let offset = parse_param("offset", offset, 0, 0..=i64::MAX)?;
    let (rows, total) = app.revocation.blacklist_page(limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|r| Item {
            jti: r.jti,
            username: r.username,
            expires_at: from_db_time(r.expires_at),
            blacklisted_at: from_db_time(r.blacklisted_at),
        })
        .collect();
    Ok(Json(Page { items, total }))
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Hour {
    #[serde(with = "time::serde::rfc3339")]
    hour: OffsetDateTime,
    revoked: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Hourly {
    hours: Vec<Hour>,
}

/// Revocations per hour over the last 24 hours (admin).
///
/// Revocations (logouts, sessions ended, logouts everywhere: one each) committed in each of
/// the last 24 hours, the current one last, zeros included, for the admin page's chart. The
/// counts survive the purge of the rows they counted.
#[utoipa::path(
    tag = "blacklist",
    responses(
        (status = 200, description = "24 hours, oldest first.", body = Hourly),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[get("/blacklist/hourly")]
async fn hourly(_admin: AdminUser, app: &State<App>) -> Result<Json<Hourly>, ApiError> {
    let hours = app
        .revocation
        .hourly(OffsetDateTime::now_utc())
        .await?
        .into_iter()
        .map(|c| Hour {
            hour: c.hour,
            revoked: c.revoked,
        })
        .collect();
    Ok(Json(Hourly { hours }))
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Purged {
    purged: usize,
}

/// Purge expired rows now (admin).
///
/// Runs the same purge as the scheduled job, now, with the audit trail's retention.
#[utoipa::path(
    tag = "blacklist",
    responses(
        (status = 200, description = "How many rows went.", body = Purged),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[post("/blacklist/purge")]
async fn purge(
    _origin: SameOrigin,
    _admin: AdminUser,
    app: &State<App>,
) -> Result<Json<Purged>, ApiError> {
    let purged = jobs::purge(
        &app.revocation,
        &app.metrics,
        app.config.purge_batch_size,
        "admin",
    )
    .await?;
    // The audit trail's retention runs with it, as on the schedule; its rows are not blacklist
    // rows and are not counted in the answer.
    crate::audit::purge(
        &app.db,
        app.config.audit_retention,
        app.config.purge_batch_size,
    )
    .await?;
    Ok(Json(Purged { purged }))
}
