//! `POST /authenticate`: log in, receive the `jwt` cookie.

use std::net::IpAddr;

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{post, routes, Route, State};
use time::OffsetDateTime;

use super::{body, JsonBody};
use crate::auth::accounts::{self, LoginDeps};
use crate::auth::claims::TokenCodec;
use crate::auth::cookie;
use crate::auth::origin::SameOrigin;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::LoginThrottle;
use crate::config::AppConfig;
use crate::db::Db;
use crate::domain::Role;
use crate::error::ApiError;

pub fn routes() -> Vec<Route> {
    routes![authenticate]
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
pub struct Credentials {
    username: String,
    password: String,
}

#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
pub struct LoggedIn {
    username: String,
    role: Role,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

#[expect(
    clippy::too_many_arguments,
    reason = "Rocket injects each service as its own guard"
)]
#[post("/authenticate", data = "<data>")]
async fn authenticate(
    _origin: SameOrigin,
    addr: Option<IpAddr>,
    data: JsonBody<'_, Credentials>,
    jar: &CookieJar<'_>,
    config: &State<AppConfig>,
    db: &State<Db>,
    hasher: &State<PasswordHasher>,
    throttle: &State<LoginThrottle>,
    codec: &State<TokenCodec>,
) -> Result<Json<LoggedIn>, ApiError> {
    let creds = body(data)?;
    let deps = LoginDeps {
        db,
        hasher,
        throttle,
        codec,
    };
    let session = accounts::login(deps, &creds.username, &creds.password, addr).await?;
    jar.add(cookie::session(session.token, codec.ttl(), config.cookie));
    Ok(Json(LoggedIn {
        expires_at: session.claims.expires_at(),
        username: session.claims.sub,
        role: session.claims.role,
    }))
}
