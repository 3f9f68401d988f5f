//! The server's Prometheus metrics, one registry per server (so that servers started side by
//! side in one process, as the tests do, count apart). Events are counted where they are
//! decided: the guard counts its refusals, the login and refresh routes their outcomes, the
//! purge its runs, the request fairing every answer. Gauges of the revocation view are read
//! when the metrics are scraped.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::audit::Kind;
use crate::auth::error::AuthError;
use crate::revocation::Revocation;

/// How a login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum LoginOutcome {
    ok,
    failed,
    throttled,
}

/// Why the guard refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Rejection {
    /// No token in the cookie or the `Authorization` header.
    missing,
    /// Not a token this server signed (or tampered with).
    invalid,
    expired,
    /// Its id, its session or its user's cut-off is revoked.
    revoked,
    /// A valid token without the admin role, on an admin route.
    forbidden,
    /// Revocation could not be checked: the guard failed closed (503).
    unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum LogoutKind {
    /// `POST /blacklist/logout`: one token and its session.
    token,
    /// `POST /blacklist/logout-all`: every session of the user.
    everywhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum RefreshOutcome {
    rotated,
    refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PurgeOutcome {
    ok,
    failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LoginLabel {
    outcome: LoginOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefreshLabel {
    outcome: RefreshOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PurgeLabel {
    outcome: PurgeOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: Rejection,
}

/// A signing key's `kid`: a handful per deployment, from configuration, never from a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KidLabel {
    kid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: LogoutKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AuditLabel {
    kind: &'static str,
}

/// A route as Rocket matched it: its URI template (`/sessions/<id>`), never the request's own
/// URI, so that ids and query strings neither leak into the metrics nor multiply the series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabels {
    method: String,
    route: String,
    status: u16,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type Durations = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Buckets from 0.1 ms to about 3.3 s, doubling: the guard's answers take well under a
/// millisecond, a login (argon2) tens of milliseconds, a logout a disk sync.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
}

/// Every metric of one server. Cheap to clone: the handles are reference-counted.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    logins: Family<LoginLabel, Counter>,
    logouts: Family<KindLabel, Counter>,
    refreshes: Family<RefreshLabel, Counter>,
    tokens_issued: Family<KidLabel, Counter>,
    reuse_detected: Counter,
    rejections: Family<ReasonLabel, Counter>,
    purge_runs: Family<PurgeLabel, Counter>,
    purged_rows: Counter,
    view_entries: Gauge,
    view_staleness: FloatGauge,
    view_current: Gauge,
    durations: Durations,
    requests: Family<StatusLabels, Counter>,
    audit_events: Family<AuditLabel, Counter>,
    users_locked: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let logins = Family::default();
        registry.register("logins", "Logins by outcome", logins.clone());
        let logouts = Family::default();
        registry.register("logouts", "Logouts answered 200", logouts.clone());
        let refreshes = Family::default();
        registry.register(
            "refreshes",
            "Refresh requests by outcome",
            refreshes.clone(),
        );
        let tokens_issued = Family::default();
        registry.register(
            "tokens_issued",
            "Access tokens signed, by the kid of the key that signed them",
            tokens_issued.clone(),
        );
        let reuse_detected = Counter::default();
        registry.register(
            "refresh_reuse_detected",
            "Refresh tokens presented again after rotation (their session was ended)",
            reuse_detected.clone(),
        );
        let rejections = Family::default();
        registry.register(
            "guard_rejections",
            "Requests the guard refused, by reason",
            rejections.clone(),
        );
        let purge_runs = Family::default();
        registry.register("purge_runs", "Purge runs by outcome", purge_runs.clone());
        let purged_rows = Counter::default();
        registry.register(
            "purged_rows",
            "Rows deleted by the purge (expired blacklist rows, dead sessions)",
            purged_rows.clone(),
        );
        let view_entries = Gauge::default();
        registry.register(
            "revocation_view_entries",
            "Entries in the in-memory revocation view (token ids, ended sessions, user cut-offs)",
            view_entries.clone(),
        );
        let view_staleness = FloatGauge::default();
        registry.register(
            "revocation_view_staleness_seconds",
            "Time since the view was last proven current (0 where it cannot fall behind)",
            view_staleness.clone(),
        );
        let view_current = Gauge::default();
        registry.register(
            "revocation_view_current",
            "1 while the view may answer, 0 while the guard fails closed",
            view_current.clone(),
        );
        let durations: Durations = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response, per route",
            durations.clone(),
        );
        let requests = Family::default();
        registry.register(
            "http_requests",
            "Answers per route and status",
            requests.clone(),
        );
        let audit_events = Family::default();
        registry.register(
            "audit_events",
            "Security events written to the audit trail, by kind (a row of counted throttled attempts counts once)",
            audit_events.clone(),
        );
        let users_locked = Gauge::default();
        registry.register(
            "users_locked",
            "Accounts locked now (read from the database at each scrape)",
            users_locked.clone(),
        );
        Self {
            registry: Arc::new(registry),
            audit_events,
            users_locked,
            logins,
            logouts,
            refreshes,
            tokens_issued,
            reuse_detected,
            rejections,
            purge_runs,
            purged_rows,
            view_entries,
            view_staleness,
            view_current,
            durations,
            requests,
        }
    }

    pub fn login(&self, result: &Result<impl Sized, AuthError>) {
        let outcome = match result {
            Ok(_) => LoginOutcome::ok,
            Err(AuthError::Throttled { .. }) => LoginOutcome::throttled,
            Err(
                AuthError::InvalidCredentials
                | AuthError::InvalidCode { .. }
                | AuthError::PasskeyRefused,
            ) => LoginOutcome::failed,
            // Bad input, or the store is down: not an attempt on an account.
            Err(_) => return,
        };
        self.logins.get_or_create(&LoginLabel { outcome }).inc();
    }

    pub fn logout(&self, kind: LogoutKind) {
        self.logouts.get_or_create(&KindLabel { kind }).inc();
    }

    pub fn refresh(&self, outcome: RefreshOutcome) {
        self.refreshes
            .get_or_create(&RefreshLabel { outcome })
            .inc();
    }

    /// Shows a configured key's count at 0 before it signs, so that a rotation can be watched.
    pub fn signing_key(&self, kid: &str) {
        drop(self.tokens_issued.get_or_create(&KidLabel {
            kid: kid.to_owned(),
        }));
    }

    pub fn token_issued(&self, kid: &str) {
        self.tokens_issued
            .get_or_create(&KidLabel {
                kid: kid.to_owned(),
            })
            .inc();
    }

    /// `rows` events of `kind` written.
    pub fn audit_events(&self, kind: Kind, rows: u64) {
        self.audit_events
            .get_or_create(&AuditLabel {
                kind: kind.as_str(),
            })
            .inc_by(rows);
    }

    /// The accounts locked now; left as it was when the database could not say.
    pub fn users_locked(&self, count: i64) {
        self.users_locked.set(count);
    }

    pub fn reuse_detected(&self) {
        self.reuse_detected.inc();
    }

    pub fn rejected(&self, reason: Rejection) {
        self.rejections.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub fn purged(&self, result: &Result<usize, impl Sized>) {
        let outcome = match result {
            Ok(rows) => {
                self.purged_rows.inc_by(*rows as u64);
                PurgeOutcome::ok
            }
            Err(_) => PurgeOutcome::failed,
        };
        self.purge_runs.get_or_create(&PurgeLabel { outcome }).inc();
    }

    pub fn answered(&self, route: RouteLabels, status: u16, took: Duration) {
        self.durations
            .get_or_create(&route)
            .observe(took.as_secs_f64());
        let labels = StatusLabels {
            method: route.method,
            route: route.route,
            status,
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// The metrics in the OpenMetrics text format (which Prometheus reads), with the view's
    /// gauges read now.
    pub fn render(&self, revocation: &Revocation) -> String {
        let view = revocation.view_state();
        self.view_entries.set(view.entries as i64);
        self.view_staleness
            .set(view.staleness.map_or(f64::INFINITY, |s| s.as_secs_f64()));
        self.view_current.set(i64::from(view.current));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
