//! `GET /auth/verify`: forward authentication for reverse proxies (nginx `auth_request`,
//! Traefik `forwardAuth`, Caddy `forward_auth`). The proxy asks before passing a request on to
//! the app it protects, with the client's cookie or `Authorization` header; this answers with
//! the same guard as `/api/me`, so a logged-out token is refused here too, at once, and the app
//! never needs the JWT secret.

use rocket::http::Header;
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, routes, Responder, Route};
use utoipa::ToSchema;

use super::openapi::errors::{Unauthorized, Unavailable};
use crate::domain::Role;
use crate::http::guard::AuthUser;

pub fn routes() -> Vec<Route> {
    routes![verify]
}

/// The user and role the proxy passes on to the app it protects.
pub const USER_HEADER: &str = "X-Auth-Request-User";
pub const ROLE_HEADER: &str = "X-Auth-Request-Role";

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Verified {
    username: String,
    role: Role,
}

#[derive(Responder)]
pub struct VerifiedResponse {
    body: Json<Verified>,
    user: Header<'static>,
    role: Header<'static>,
}

/// Forward auth: whether the request's token is valid and unrevoked, and whose it is.
///
/// 200 with the user's name and role as headers (and as JSON); 401 without a valid, unrevoked
/// token; 503 when revocation cannot be checked (the guard fails closed, and so does the proxy).
#[utoipa::path(
    tag = "forward_auth",
    responses(
        (status = 200, description = "A valid, unrevoked token; pass the request on.", body = Verified,
            headers(
                ("X-Auth-Request-User" = String, description = "The token's user, for the proxy to pass on."),
                ("X-Auth-Request-Role" = Role, description = "The token's role, `user` or `admin`."),
            )),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[get("/auth/verify")]
fn verify(user: AuthUser) -> VerifiedResponse {
    VerifiedResponse {
        user: Header::new(USER_HEADER, user.username.clone()),
        role: Header::new(ROLE_HEADER, user.role.as_str()),
        body: Json(Verified {
            username: user.username,
            role: user.role,
        }),
    }
}
