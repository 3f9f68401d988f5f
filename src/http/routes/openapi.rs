//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated from the code.
//!
//! How a route gets into the document (the pattern every handler follows):
//! 1. `#[utoipa::path(...)]` right above Rocket's route attribute. Method, path and path/query
//!    parameters are read from Rocket's attribute (utoipa's `rocket_extras`), so they are not
//!    repeated; the annotation adds the tag (the URL family, i.e. the file), `request_body` for
//!    a `data = ...` route, every status the route can answer (shared error answers by name from
//!    [`errors`]) with its headers, and `security` for guarded routes (`jwt_cookie` or
//!    `bearer`; `["admin"]` for admin routes).
//! 2. The handler's doc comment: its first line is the summary, the rest the description.
//! 3. `#[derive(ToSchema)]` on every request and response body type.
//! 4. The handler's path in [`document::ApiDoc`]'s `paths(...)`.
//!
//! `tests/api/openapi.rs` fails when a mounted route is missing from the document (or a
//! documented one is not mounted), and when an answer it can provoke is not documented.

mod document;
pub mod errors;

use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use utoipa::OpenApi;

pub fn routes() -> Vec<Route> {
    routes![openapi_json]
}

/// This document.
///
/// Built on each request from the annotations compiled into the server; import it into Swagger
/// UI, or test the server against it (e.g. schemathesis).
#[utoipa::path(
    tag = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object),
    ),
)]
#[get("/openapi.json")]
fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document::ApiDoc::openapi())
}
