//! `GET /health/live` (liveness: the process answers) and `GET /health` (readiness: the
//! database answers and the revocation view can vouch for itself).

use rocket::serde::json::{json, Value};
use rocket::{get, routes, Route, State};

use crate::db::Db;
use crate::error::ApiError;
use crate::revocation::Revocation;

pub fn routes() -> Vec<Route> {
    routes![live, ready]
}

/// No guard, no database: the floor that benchmarks compare the guarded routes with.
#[get("/health/live")]
fn live() -> Value {
    json!({ "status": "ok" })
}

#[get("/health")]
async fn ready(db: &State<Db>, revocation: &State<Revocation>) -> Result<Value, ApiError> {
    revocation.ready()?;
    db.ping().await?;
    Ok(json!({ "status": "ok" }))
}
