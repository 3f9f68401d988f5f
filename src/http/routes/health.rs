//! `GET /health/live` (liveness: the process answers) and `GET /health` (readiness: the
//! database answers and takes writes, and the revocation view can vouch for itself).

use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, routes, Route, State};
use utoipa::ToSchema;

use super::openapi::errors::Unavailable;
use crate::app::App;
use crate::http::error::ApiError;

pub fn routes() -> Vec<Route> {
    routes![live, ready]
}

/// A health check's answer: there is only one state worth a body, since any other is an error.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

const OK: Health = Health { status: "ok" };

/// Liveness: the process answers.
///
/// No guard, no database: the floor that benchmarks compare the guarded routes with.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process answers.", body = Health)),
)]
#[get("/health/live")]
fn live() -> Json<Health> {
    Json(OK)
}

/// Readiness: the database answers and takes writes; the revocation view is current.
///
/// A database that can be read but refuses writes (a full or read-only disk) fails every login
/// and logout, so it is not ready: a load balancer should send them elsewhere. The write is a
/// one-row update, made at most once a second.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve.", body = Health),
        (status = 503, response = Unavailable),
    ),
)]
#[get("/health")]
async fn ready(app: &State<App>) -> Result<Json<Health>, ApiError> {
    app.revocation.ready()?;
    app.db.ping().await?;
    app.db.can_write().await?;
    Ok(Json(OK))
}
