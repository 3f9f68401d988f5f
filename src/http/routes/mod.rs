//! HTTP routes, one file per URL family:
//! `/authenticate`, `/authenticate/mfa` and `/authenticate/passkey` in `authenticate/`;
//! `/api/mfa...` in `mfa.rs`; `/api/passkeys...` in `passkeys.rs`; `/refresh` in `refresh.rs`; `/api/users...`, `/api/me` and
//! `/api/password` in `users.rs`; `/api/sessions...` and `/sessions...` in `sessions.rs`;
//! `/blacklist...` in `blacklist.rs`; `/health...` in `health.rs`; `/.well-known/jwks.json` (the
//! public keys) in `jwks.rs`; `/auth/verify` (forward
//! auth for reverse proxies) in `forward_auth.rs`; `/metrics` in `metrics.rs`; the browser
//! pages `/`, `/admin` and `/assets/...` in `pages.rs`; `/openapi.json` (the document of all of
//! these) in `openapi.rs`.

mod authenticate;
mod blacklist;
mod forward_auth;
mod health;
mod jwks;

pub use self::jwks::JWKS_PATH;
mod audit;
mod metrics;
mod mfa;
mod openapi;
mod pages;
mod params;
mod passkeys;
mod refresh;
mod sessions;
mod users;

use rocket::serde::json::{self, Json};
use rocket::Route;

use crate::http::error::ApiError;

/// Every route of the server, mounted at `/`.
pub fn all() -> Vec<Route> {
    [
        authenticate::routes(),
        refresh::routes(),
        sessions::routes(),
        users::routes(),
        blacklist::routes(),
        health::routes(),
        jwks::routes(),
        forward_auth::routes(),
        metrics::routes(),
        pages::routes(),
        openapi::routes(),
        audit::routes(),
        mfa::routes(),
        passkeys::routes(),
    ]
    .concat()
}

/// A JSON body, or the 4xx error that says what is wrong with it (never echoing it back).
pub type JsonBody<'r, T> = Result<Json<T>, json::Error<'r>>;

pub fn body<T>(data: JsonBody<'_, T>) -> Result<T, ApiError> {
    data.map(Json::into_inner)
        .map_err(|e| ApiError::from_json(&e))
}
