//! The request fairing: times every request, counts it in the metrics and writes its one log
//! line (method, route, status, latency). The route is the matched route's template
//! (`/sessions/<id>`), or `-` when none matched: never the request's own path or query, which
//! can hold ids and names.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};

use crate::app::App;
use crate::telemetry::metrics::RouteLabels;

/// When the request arrived (in the request's local cache).
struct Started(Instant);

pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log and metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let took = req.local_cache(|| Started(Instant::now())).0.elapsed();
        let route = RouteLabels {
            method: req.method().as_str().to_owned(),
            route: req.route().map_or("-", |r| r.uri.path()).to_owned(),
        };
        let status = res.status().code;
        let latency_ms = took.as_secs_f64() * 1000.0;
        log::info!(
            target: "jwt_blacklist::request",
            method = route.method.as_str(),
            route = route.route.as_str(),
            status = status,
            latency_ms = (latency_ms * 1000.0).round() / 1000.0;
            "request"
        );
        if let Some(app) = req.rocket().state::<App>() {
            app.metrics.answered(route, status, took);
        }
    }
}
