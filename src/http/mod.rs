//! The HTTP layer, and the only part of the server that knows Rocket: the routes (one file per
//! URL family under `routes/`), the request guards (`guard.rs`, `origin.rs`), the cookies
//! (`cookie.rs`, the one place their attributes are set and cleared), [`ApiError`] with the JSON
//! catchers and the one mapping from domain outcomes to statuses (`error.rs`), and the request
//! fairing (`request_log.rs`). Handlers take their guards, their body and `&State<App>`.

mod catchers;
pub mod cookie;
pub mod error;
pub mod guard;
pub mod origin;
mod request_log;
mod routes;
mod source;

use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};

pub use self::error::ApiError;

/// Mounts the routes, registers the catchers and attaches the fairings of the HTTP layer.
pub fn stage(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .attach(no_store())
        .attach(request_log::RequestLog)
        .mount("/", routes::all())
        .register("/", catchers::catchers())
}

/// Every answer concerns a session (identity, tokens, the blacklist): no browser or proxy may
/// keep a copy of it. The one exception is the public key set, which verifiers should cache
/// (its route sets `Cache-Control` itself).
fn no_store() -> AdHoc {
    AdHoc::on_response("Cache-Control: no-store", |req, res| {
        Box::pin(async move {
            let public =
                req.uri().path() == routes::JWKS_PATH && res.status() == rocket::http::Status::Ok;
            if !public {
                res.set_raw_header("Cache-Control", "no-store");
            }
        })
    })
}
