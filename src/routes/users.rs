//! `POST /api/users` (sign up) and `GET /api/me` (who am I).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{get, post, routes, Route, State};
use time::OffsetDateTime;

use super::{body, JsonBody};
use crate::auth::accounts;
use crate::auth::guard::AuthUser;
use crate::auth::origin::SameOrigin;
use crate::auth::password::PasswordHasher;
use crate::config::AppConfig;
use crate::db::Db;
use crate::domain::{Password, Role, Username};
use crate::error::ApiError;

pub fn routes() -> Vec<Route> {
    routes![sign_up, me]
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
pub struct SignUp {
    username: String,
    password: String,
}

#[derive(Serialize)]
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

#[derive(Serialize)]
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
