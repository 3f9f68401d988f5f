//! `GET /api/sessions` and `DELETE /api/sessions/<id>` (the caller's own sessions), and for
//! admins `GET /sessions?username=<u>` and `DELETE /sessions/<id>`.

use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, patch, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::errors::{
    CrossOrigin, ErrorBody, NotAdmin, NotAdminOrCrossOrigin, NotJson, TooLarge, Unauthorized,
    Unavailable,
};
use super::{body, JsonBody};
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::auth::error::AuthError;
use crate::auth::session_tokens::{self, Listed};
use crate::db::from_db_time;
use crate::domain::Role;
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::guard::{AdminUser, AuthUser};
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![mine, end_mine, rename, of_user, end_any]
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
    /// The address the session logged in from.
    ip: Option<String>,
    /// What the browser or client is, as read from its User-Agent ("Firefox 133 on Linux").
    device: String,
    /// The name its owner gave it, if any.
    name: Option<String>,
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
                ip: row.ip,
                device: row.device,
                name: row.name,
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
    source: Source,
    id: &str,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| NO_SUCH_SESSION)?;
    let owner = user.uid.to_string();
    let event = Event::new(Kind::SessionEnded, Actor::Subject, source)
        .about(&user.username, &owner)
        .session(id);
    if !app
        .revocation
        .end_session(id, Some(&owner), Some(event))
        .await?
    {
        return Err(NO_SUCH_SESSION);
    }
    if user.sid == id {
        cookie::clear_pair(jar, app.config.cookie);
    }
    Ok(Status::NoContent)
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct SessionName {
    /// 1 to 64 characters ("work laptop"), not only spaces, without control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct SessionNamed {
    #[schema(format = Uuid)]
    id: String,
    name: String,
}

/// Name one of the caller's sessions.
#[utoipa::path(
    tag = "sessions",
    params(("id" = Uuid, description = "The session's id, from the session list.")),
    request_body = SessionName,
    responses(
        (status = 200, description = "The session's new name.", body = SessionNamed),
        (status = 400, response = NotJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = CrossOrigin),
        (status = 404, description = "No such live session of the caller's (`not_found`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `name`, or not 1 to 64 characters (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[patch("/api/sessions/<id>", data = "<data>")]
async fn rename(
    _origin: SameOrigin,
    user: AuthUser,
    id: &str,
    data: JsonBody<'_, SessionName>,
    app: &State<App>,
) -> Result<Json<SessionNamed>, ApiError> {
    let form = body(data)?;
    let id = Uuid::parse_str(id).map_err(|_| NO_SUCH_SESSION)?;
    let name = session_tokens::rename(app, &user.uid.to_string(), id, &form.name)
        .await
        .map_err(|e| match e {
            AuthError::NoSuchSession => NO_SUCH_SESSION,
            e => e.into(),
        })?;
    Ok(Json(SessionNamed {
        id: id.to_string(),
        name,
    }))
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
    admin: AdminUser,
    source: Source,
    id: &str,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| NO_SUCH_SESSION)?;
    let actor = Actor::Named(admin.0.username.clone());
    let event = Event::new(Kind::SessionEnded, actor, source).session(id);
    if !app.revocation.end_session(id, None, Some(event)).await? {
        return Err(NO_SUCH_SESSION);
    }
    Ok(Status::NoContent)
}
