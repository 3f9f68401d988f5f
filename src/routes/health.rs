//! `GET /health`: 200 when the database answers, 503 when it does not.

use rocket::serde::json::{json, Value};
use rocket::{get, routes, Route, State};

use crate::db::Db;
use crate::error::ApiError;

pub fn routes() -> Vec<Route> {
    routes![health]
}

#[get("/health")]
async fn health(db: &State<Db>) -> Result<Value, ApiError> {
    db.ping().await?;
    Ok(json!({ "status": "ok" }))
}
