//! `POST /api/users` (sign up), `GET /api/me` (who am I), `POST /api/password` (change one's
//! password), and for admins `PATCH /api/users/<username>` (role) and
//! `DELETE /api/users/<username>`.

pub(super) mod console;

use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, patch, post, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::openapi::errors::{
    CrossOrigin, ErrorBody, NotAdminOrCrossOrigin, NotJson, Throttled, TooLarge, Unauthorized,
    Unavailable, UnavailableOrBusy,
};
use super::{body, JsonBody};
use crate::app::App;
use crate::audit::Source;
use crate::auth::accounts::{self, Caller};
use crate::auth::admin::{self, Admin, AdminChange};
use crate::domain::{Role, Username};
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::guard::{AdminUser, AuthUser};
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    let mut all = routes![sign_up, me, change_password, set_role, remove];
    all.extend(console::routes());
    all
}

/// A name from a URL, if an account could have it (sign-up and the admin bootstrap both parse
/// names as [`Username`]); any other is `no such user` without a query, so that hostile bytes
/// never reach the database (on PostgreSQL a NUL fails the query itself, which would be a 503).
pub(super) fn existing_name(name: &str) -> Result<&str, ApiError> {
    match Username::parse(name) {
        Ok(_) => Ok(name),
        Err(_) => Err(ApiError::NotFound("no such user")),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct SignUp {
    /// 3 to 64 characters of letters, digits, `_`, `.` or `-`.
    #[schema(pattern = "^[A-Za-z0-9_.-]{3,64}$")]
    username: String,
    /// At least 8 characters, at most 1024 bytes of UTF-8 (the schema can only count characters).
    #[schema(min_length = 8)]
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct UserCreated {
    username: String,
    role: Role,
}

/// Sign up: a new account with the `user` role.
///
/// Allowed while the `signup_enabled` setting is on; the answer does not log the user in.
/// Every attempt counts against the client's address (an IPv6 /64): past `signup_max_per_ip`
/// within `login_failure_window`, 429. 503 at once when the password hashing queue is full.
#[utoipa::path(
    tag = "users",
    request_body = SignUp,
    responses(
        (status = 201, description = "The account exists.", body = UserCreated),
        (status = 400, response = NotJson),
        (status = 403, description = "Sign-up is disabled (`forbidden`), or the request came from a foreign `Origin` (`cross_origin_request`).", body = ErrorBody),
        (status = 409, description = "The username is taken (`username_taken`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "A bad username or password, or a body without those fields (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
)]
#[post("/api/users", data = "<data>")]
async fn sign_up(
    _origin: SameOrigin,
    source: Source,
    data: JsonBody<'_, SignUp>,
    app: &State<App>,
) -> Result<(Status, Json<UserCreated>), ApiError> {
    if !app.config.signup_enabled {
        return Err(ApiError::Forbidden("sign-up is disabled on this server"));
    }
    let form = body(data)?;
    let username = accounts::sign_up(app, source, &form.username, form.password).await?;
    let created = UserCreated {
        username: username.to_string(),
        role: Role::User,
    };
    Ok((Status::Created, Json(created)))
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Me {
    username: String,
    role: Role,
    jti: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// Who the caller is, as their token says (and the token's id and expiry).
#[utoipa::path(
    tag = "users",
    responses(
        (status = 200, description = "The caller.", body = Me),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[get("/api/me")]
fn me(user: AuthUser) -> Json<Me> {
    Json(Me {
        username: user.username,
        role: user.role,
        jti: user.jti,
        expires_at: user.expires_at,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct PasswordChange {
    current_password: String,
    /// At least 8 characters, at most 1024 bytes of UTF-8 (the schema can only count characters).
    #[schema(min_length = 8)]
    new_password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct PasswordChanged {
    password_changed: bool,
    other_sessions_ended: usize,
}

/// Change one's password: every other session of the caller ends.
///
/// Changes the caller's password and ends every other session of theirs. The caller's own
/// session goes on with a re-issued `jwt` cookie (the one presented is refused from now on).
/// Wrong current passwords are throttled per session and per address (429), never on the
/// username, so they cannot lock the owner's logins.
#[utoipa::path(
    tag = "users",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; the caller's session goes on.", body = PasswordChanged,
            headers(("Set-Cookie" = String, description = "A re-issued `jwt` cookie (same attributes as at login); the token presented is refused from now on."))),
        (status = 400, response = NotJson),
        (status = 401, description = "No valid session token (`unauthorized`), or a wrong current password (`invalid_credentials`).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "The account changed while the current password was being checked: nothing was changed; try again (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "A bad new password, or a body without the two fields (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/api/password", data = "<data>")]
async fn change_password(
    _origin: SameOrigin,
    user: AuthUser,
    source: Source,
    data: JsonBody<'_, PasswordChange>,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let form = body(data)?;
    let caller = Caller {
        username: &user.username,
        sid: user.sid,
    };
    let changed = accounts::change_password(
        app,
        caller,
        &form.current_password,
        form.new_password,
        source,
    )
    .await?;
    jar.add(cookie::session(
        changed.access_token,
        changed.cookie_max_age,
        app.config.cookie,
    ));
    Ok(Json(PasswordChanged {
        password_changed: true,
        other_sessions_ended: changed.sessions_ended,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct RoleChange {
    role: Role,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct RoleChanged {
    username: String,
    role: Role,
    sessions_ended: usize,
}

/// Set a user's role (admin); every session of theirs ends.
///
/// Sets a user's role and ends all their sessions at once, so that no token carries the old
/// role any more. 409 for the last admin.
#[utoipa::path(
    tag = "users",
    params(("username", description = "The user whose role changes.")),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The new role, and how many sessions ended.", body = RoleChanged),
        (status = 400, response = NotJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 409, description = "The last admin cannot be demoted (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `role`, or not `user` or `admin` (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[patch("/api/users/<username>", data = "<data>")]
async fn set_role(
    _origin: SameOrigin,
    admin: AdminUser,
    source: Source,
    username: &str,
    data: JsonBody<'_, RoleChange>,
    app: &State<App>,
) -> Result<Json<RoleChanged>, ApiError> {
    let role = body(data)?.role;
    let username = existing_name(username)?;
    let by = Admin::named(&admin.0.username, source);
    let ended = admin::administer(app, by, username, AdminChange::SetRole(role)).await?;
    Ok(Json(RoleChanged {
        username: username.to_owned(),
        role,
        sessions_ended: ended,
    }))
}

/// Remove a user (admin); every session of theirs ends.
///
/// Removes a user and ends all their sessions at once. 409 for the last admin.
#[utoipa::path(
    tag = "users",
    params(("username", description = "The user to remove.")),
    responses(
        (status = 204, description = "The account is gone."),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 409, description = "The last admin cannot be removed (`conflict`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[delete("/api/users/<username>")]
async fn remove(
    _origin: SameOrigin,
    admin: AdminUser,
    source: Source,
    username: &str,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let by = Admin::named(&admin.0.username, source);
    admin::administer(app, by, existing_name(username)?, AdminChange::Remove).await?;
    Ok(Status::NoContent)
}
