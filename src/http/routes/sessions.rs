//! `GET /api/sessions` and `DELETE /api/sessions/<id>` (the caller's own sessions), and for
//! admins `GET /sessions?username=<u>` and `DELETE /sessions/<id>`.

use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{delete, get, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::errors::{
    CrossOrigin, ErrorBody, NotAdmin, NotAdminOrCrossOrigin, Unauthorized, Unavailable,
};
use crate::app::App;
use crate::auth::session_tokens::{self, Listed};
use crate::db::from_db_time;
use crate::domain::Role;
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::guard::{AdminUser, AuthUser};
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![mine, end_mine, of_user, end_any]
}

/// A live session.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
#[schema(as = Session)]
pub struct Item {
    #[schema(format = Uuid)]
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    user_agent: String,
    /// Whether this is the session of the token that asked.
    current: bool,
}

/// Live sessions, newest first.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
#[schema(as = SessionList)]
pub struct Sessions {
    items: Vec<Item>,
}

/// A user's role and live sessions, as an admin sees them.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
#[schema(as = UserSessionList)]
pub struct UserSessions {
    username: String,
    role: Role,
    items: Vec<Item>,
}

impl From<Vec<Listed>> for Sessions {
    fn from(listed: Vec<Listed>) -> Self {
        let items = listed
            .into_iter()
            .map(|Listed { row, current }| Item {
                id: row.id,
                created_at: from_db_time(row.created_at),
                last_used_at: from_db_time(row.last_used_at),
                expires_at: from_db_time(row.expires_at),
                user_agent: row.user_agent,
                current,
            })
            .collect();
        Self { items }
    }
}

const NO_SUCH_SESSION: ApiError = ApiError::NotFound("no such live session");

/// The caller's live sessions, newest first.
#[utoipa::path(
    tag = "sessions",
    responses(
        (status = 200, description = "The caller's sessions; `current` marks the one asking.", body = Sessions),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[get("/api/sessions")]
async fn mine(user: AuthUser, app: &State<App>) -> Result<Json<Sessions>, ApiError> {
    let id = user.uid.to_string();
    Ok(Json(
        session_tokens::list(&app.db, &id, user.sid).await?.into(),
    ))
}

/// End one of the caller's sessions: its tokens are refused at once.
///
/// Ends one of the caller's sessions (another user's id is 404, as an unknown one). Ending
/// the current one clears the cookies, as a logout would.
#[utoipa::path(
    tag = "sessions",
    params(("id" = Uuid, description = "The session's id, from the session list.")),
    responses(
        (status = 204, description = "The session has ended.",
            headers(("Set-Cookie" = String, description = "Only when it was the caller's own session: both cookies cleared (`Max-Age=0`)."))),
        (status = 401, response = Unauthorized),
        (status = 403, response = CrossOrigin),
        (status = 404, description = "No such live session of the caller's (`not_found`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[delete("/api/sessions/<id>")]
async fn end_mine(
    _origin: SameOrigin,
    user: AuthUser,
    id: &str,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| NO_SUCH_SESSION)?;
    let owner = user.uid.to_string();
    if !app.revocation.end_session(id, Some(&owner)).await? {
        return Err(NO_SUCH_SESSION);
    }
    if user.sid == id {
        cookie::clear_pair(jar, app.config.cookie);
    }
    Ok(Status::NoContent)
}

/// A user's role and live sessions (admin), newest first.
#[utoipa::path(
    tag = "sessions",
    params(("username" = String, Query, min_length = 1, description = "Whose sessions.")),
    responses(
        (status = 200, description = "The user's role and sessions; `current` marks the admin's own, if listed.", body = UserSessions),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 422, description = "No `username` given (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[get("/sessions?<username>")]
async fn of_user(
    admin: AdminUser,
    username: Option<&str>,
    app: &State<App>,
) -> Result<Json<UserSessions>, ApiError> {
    let username = username.filter(|u| !u.is_empty()).ok_or_else(|| {
        ApiError::Unprocessable("the username query parameter is required".into())
    })?;
    let name = super::users::existing_name(username)?;
    let (user, listed) = session_tokens::list_of(&app.db, name, admin.0.sid).await?;
    let Sessions { items } = listed.into();
    Ok(Json(UserSessions {
        role: Role::from_stored(&user.role),
        username: user.username,
        items,
    }))
}

/// End any session (admin): its tokens are refused at once.
#[utoipa::path(
    tag = "sessions",
    params(("id" = Uuid, description = "The session's id, from a session list.")),
    responses(
        (status = 204, description = "The session has ended."),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 404, description = "No such live session (`not_found`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[delete("/sessions/<id>")]
async fn end_any(
    _origin: SameOrigin,
    _admin: AdminUser,
    id: &str,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| NO_SUCH_SESSION)?;
    if !app.revocation.end_session(id, None).await? {
        return Err(NO_SUCH_SESSION);
    }
    Ok(Status::NoContent)
}
