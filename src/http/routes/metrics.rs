//! `GET /metrics`: the Prometheus metrics, for an admin's session or for a scraper presenting
//! `Authorization: Bearer <metrics_token>`.

use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, routes, Route, State};

use super::openapi::errors::{NotAdmin, Unauthorized, Unavailable};
use crate::app::App;
use crate::auth::admin;
use crate::http::error::ApiError;
use crate::http::guard::AdminUser;

pub fn routes() -> Vec<Route> {
    routes![metrics]
}

/// The OpenMetrics text format, which Prometheus reads (and asks for) since 2.5.
const OPENMETRICS: (&str, &str) = ("application", "openmetrics-text");

/// Someone allowed to read the metrics: the configured scraper, or an admin.
pub struct MetricsReader;

fn presents_metrics_token(req: &Request<'_>) -> bool {
    let Some(expected) = req
        .rocket()
        .state::<App>()
        .and_then(|app| app.config.metrics_token.as_ref())
    else {
        return false;
    };
    let Some(token) = req
        .headers()
        .get_one("Authorization")
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    expected.matches(token)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsReader {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        if presents_metrics_token(req) {
            return Outcome::Success(MetricsReader);
        }
        AdminUser::from_request(req).await.map(|_| MetricsReader)
    }
}

/// The Prometheus metrics.
///
/// Logins, logouts, refreshes, reuse detections, guard rejections by reason, the revocation
/// view's size and staleness, purges, and a latency histogram per route, in the OpenMetrics
/// text format.
#[utoipa::path(
    tag = "metrics",
    responses(
        (status = 200, description = "The metrics, ending with `# EOF`.", content((String = "application/openmetrics-text"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"]), ("metrics_token" = [])),
)]
#[get("/metrics")]
async fn metrics(_reader: MetricsReader, app: &State<App>) -> (Status, (ContentType, String)) {
    // Read at each scrape: locks lift by themselves and other instances lock too. Without an
    // answer the gauge keeps its last value rather than failing the scrape.
    if let Ok(locked) = admin::locked_count(app).await {
        app.metrics.users_locked(locked);
    }
    let kind = ContentType::new(OPENMETRICS.0, OPENMETRICS.1)
        .with_params([("version", "1.0.0"), ("charset", "utf-8")]);
    (Status::Ok, (kind, app.metrics.render(&app.revocation)))
}
