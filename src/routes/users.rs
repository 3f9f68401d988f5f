//! `POST /api/users` (sign up), `GET /api/me` (who am I), `POST /api/password` (change one's
//! password), and for admins `PATCH /api/users/<username>` (role) and
//! `DELETE /api/users/<username>`.

use std::net::IpAddr;

use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, patch, post, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{body, JsonBody};
use crate::auth::accounts::{self, AdminChange, Caller, LoginDeps};
use crate::auth::claims::TokenCodec;
use crate::auth::cookie;
use crate::auth::guard::{AdminUser, AuthUser};
use crate::auth::origin::SameOrigin;
use crate::auth::password::PasswordHasher;
use crate::auth::refresh::RefreshTokens;
use crate::auth::throttle::LoginThrottle;
use crate::config::AppConfig;
use crate::db::Db;
use crate::domain::{Password, Role, Username};
use crate::error::ApiError;
use crate::revocation::Revocation;

pub fn routes() -> Vec<Route> {
    routes![sign_up, me, change_password, set_role, remove]
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct SignUp {
    /// 3 to 64 characters of letters, digits, `_`, `.` or `-`.
    username: String,
    /// 8 to 1024 bytes.
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct UserCreated {
    username: String,
    role: Role,
}

#[post("/api/users", data = "<data>")]
async fn sign_up(
    _origin: SameOrigin,
    data: JsonBody<'_, SignUp>,
    config: &State<AppConfig>,
    db: &State<Db>,
    hasher: &State<PasswordHasher>,
) -> Result<(Status, Json<UserCreated>), ApiError> {
    if !config.signup_enabled {
        return Err(ApiError::Forbidden("sign-up is disabled on this server"));
    }
    let form = body(data)?;
    let username = Username::parse(&form.username).map_err(ApiError::Unprocessable)?;
    let password = Password::parse(form.password).map_err(ApiError::Unprocessable)?;
    accounts::create(db, hasher, &username, &password, Role::User).await?;
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
    /// 8 to 1024 bytes.
    new_password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct PasswordChanged {
    password_changed: bool,
    other_sessions_ended: usize,
}

/// Changes the caller's password and ends every other session of theirs. The caller's own
/// session goes on with a re-issued `jwt` cookie (the one presented is refused from now on).
#[expect(
    clippy::too_many_arguments,
    reason = "Rocket injects each service as its own guard"
)]
#[post("/api/password", data = "<data>")]
async fn change_password(
    _origin: SameOrigin,
    user: AuthUser,
    addr: Option<IpAddr>,
    data: JsonBody<'_, PasswordChange>,
    jar: &CookieJar<'_>,
    config: &State<AppConfig>,
    db: &State<Db>,
    hasher: &State<PasswordHasher>,
    throttle: &State<LoginThrottle>,
    codec: &State<TokenCodec>,
    refresh: &State<RefreshTokens>,
    revocation: &State<Revocation>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let form = body(data)?;
    let deps = LoginDeps {
        hasher,
        throttle,
        sessions: super::session::session_deps(config, db, codec, refresh),
    };
    let caller = Caller {
        username: &user.username,
        sid: user.sid,
    };
    let changed = accounts::change_password(
        deps,
        revocation,
        caller,
        &form.current_password,
        form.new_password,
        addr,
    )
    .await?;
    jar.add(cookie::session(
        changed.access_token,
        codec.ttl(),
        config.cookie,
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

/// Sets a user's role and ends all their sessions at once, so that no token carries the old
/// role any more. 409 for the last admin.
#[patch("/api/users/<username>", data = "<data>")]
async fn set_role(
    _origin: SameOrigin,
    _admin: AdminUser,
    username: &str,
    data: JsonBody<'_, RoleChange>,
    revocation: &State<Revocation>,
) -> Result<Json<RoleChanged>, ApiError> {
    let role = body(data)?.role;
    let ended = accounts::administer(revocation, username, AdminChange::SetRole(role)).await?;
    Ok(Json(RoleChanged {
        username: username.to_owned(),
        role,
        sessions_ended: ended,
    }))
}

/// Removes a user and ends all their sessions at once. 409 for the last admin.
#[delete("/api/users/<username>")]
async fn remove(
    _origin: SameOrigin,
    _admin: AdminUser,
    username: &str,
    revocation: &State<Revocation>,
) -> Result<Status, ApiError> {
    accounts::administer(revocation, username, AdminChange::Remove).await?;
    Ok(Status::NoContent)
}
