//! `GET /metrics`: who may read it, and that each counter moves with the event it counts.

use rocket::http::{Header, Method, Status};
use rocket::local::asynchronous::LocalResponse;

use crate::helpers::{error_code, TestApp};

const METRICS_TOKEN: &str = "scraper-token-0123456789abcdef";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("metrics_token", METRICS_TOKEN))
            .merge(("refresh_reuse_grace", 0))
            .merge(("login_max_failures_per_user", 2))
    })
    .await
}

/// `GET /metrics` with `Authorization: Bearer <token>`.
async fn with_bearer<'a>(app: &'a TestApp, token: &str) -> LocalResponse<'a> {
    app.client
        .get("/metrics")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await
}

/// The metrics text, read with the scraper's token.
async fn scrape(app: &TestApp) -> String {
    let res = with_bearer(app, METRICS_TOKEN).await;
    assert_eq!(res.status(), Status::Ok);
    res.into_string().await.unwrap_or_default()
}

/// The value of the series named exactly `series` (name and labels), 0 if absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap_or(f64::NAN))
}

#[rocket::async_test]
async fn only_admins_and_the_scraper_token_may_read_them() {
    let app = spawn().await;
    let res = app.client.get("/metrics").dispatch().await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    let wrong = with_bearer(&app, "scraper-token-0123456789abcdeX").await;
    assert_eq!(wrong.status(), Status::Unauthorized);
    let user = app.user_token("alice").await;
    let res = app.authed(Method::Get, "/metrics", &user).await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    let admin = app.admin_token().await;
    let res = app.authed(Method::Get, "/metrics", &admin).await;
    assert_eq!(res.status(), Status::Ok);
    let kind = res
        .content_type()
        .map(|c| c.to_string())
        .unwrap_or_default();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let text = scrape(&app).await;
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[rocket::async_test]
async fn without_a_configured_token_a_bearer_guess_is_refused() {
    let app = TestApp::spawn().await;
    let res = with_bearer(&app, METRICS_TOKEN).await;
    assert_eq!(res.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn logins_are_counted_by_outcome() {
    let app = spawn().await;
    let _ = app.sign_up("alice", "alice-password").await;
    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Ok
    );
    for _ in 0..2 {
        assert_eq!(
            app.login("alice", "wrong-password").await.status(),
            Status::Unauthorized
        );
    }
    assert_eq!(
        app.login("alice", "wrong-password").await.status(),
        Status::TooManyRequests
    );
    let text = scrape(&app).await;
    assert_eq!(value(&text, r#"logins_total{outcome="ok"}"#), 1.0, "{text}");
    assert_eq!(value(&text, r#"logins_total{outcome="failed"}"#), 2.0);
    assert_eq!(value(&text, r#"logins_total{outcome="throttled"}"#), 1.0);
}

#[rocket::async_test]
async fn logouts_refreshes_and_reuse_are_counted() {
    let app = spawn().await;
    let (_, refresh) = app.user_session("alice").await;
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status(), Status::Ok);
    let jwt = crate::helpers::jwt_cookie(&rotated).expect("a new jwt");
    assert_eq!(app.refresh(&refresh).await.status(), Status::Unauthorized);
    let (other, _) = app.user_session("bob").await;
    assert_eq!(app.logout(Some(&other)).await.status(), Status::Ok);
    let (bobs, _) = app.user_session("bob").await;
    let res = app
        .authed(Method::Post, "/blacklist/logout-all", &bobs)
        .await;
    assert_eq!(res.status(), Status::Ok);
    let text = scrape(&app).await;
    assert_eq!(
        value(&text, r#"refreshes_total{outcome="rotated"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(value(&text, r#"refreshes_total{outcome="refused"}"#), 1.0);
    assert_eq!(value(&text, "refresh_reuse_detected_total"), 1.0);
    assert_eq!(value(&text, r#"logouts_total{kind="token"}"#), 1.0);
    assert_eq!(value(&text, r#"logouts_total{kind="everywhere"}"#), 1.0);
    // The reuse ended alice's session: her rotated token is refused as revoked.
    assert_eq!(app.me(&jwt).await.status(), Status::Unauthorized);
    let text = scrape(&app).await;
    assert_eq!(
        value(&text, r#"guard_rejections_total{reason="revoked"}"#),
        1.0
    );
}

#[rocket::async_test]
async fn guard_rejections_are_counted_by_reason() {
    let app = spawn().await;
    let user = app.user_token("alice").await;
    assert_eq!(
        app.client.get("/api/me").dispatch().await.status(),
        Status::Unauthorized
    );
    assert_eq!(app.me("garbage").await.status(), Status::Unauthorized);
    let expired = crate::helpers::forge(&{
        let mut c = crate::helpers::claims("alice", "user");
        c["exp"] = serde_json::json!(time::OffsetDateTime::now_utc().unix_timestamp() - 3600);
        c
    });
    assert_eq!(app.me(&expired).await.status(), Status::Unauthorized);
    let res = app.authed(Method::Get, "/blacklist", &user).await;
    assert_eq!(res.status(), Status::Forbidden);
    let text = scrape(&app).await;
    for reason in ["missing", "invalid", "expired", "forbidden"] {
        let series = format!(r#"guard_rejections_total{{reason="{reason}"}}"#);
        assert_eq!(value(&text, &series), 1.0, "{series} in {text}");
    }
}

#[rocket::async_test]
async fn the_view_purges_and_request_latencies_are_shown() {
    let app = spawn().await;
    let (token, _) = app.user_session("alice").await;
    assert_eq!(app.logout(Some(&token)).await.status(), Status::Ok);
    let admin = app.admin_token().await;
    app.insert_row(-3600).await;
    let purged = app.purge(&admin).await;
    assert_eq!(purged.status(), Status::Ok);
    let text = scrape(&app).await;
    // The logged-out token's id and its ended session.
    assert!(value(&text, "revocation_view_entries") >= 2.0, "{text}");
    assert_eq!(value(&text, "revocation_view_current"), 1.0);
    // 0 on SQLite (one writer); on PostgreSQL the time since the listener's last proof.
    let staleness = value(&text, "revocation_view_staleness_seconds");
    assert!((0.0..=1.0).contains(&staleness), "{text}");
    assert_eq!(value(&text, r#"purge_runs_total{outcome="ok"}"#), 1.0);
    assert!(value(&text, "purged_rows_total") >= 1.0, "{text}");
    let route = r#"{method="GET",route="/api/me"}"#;
    assert!(!text.contains(&format!("http_request_duration_seconds_count{route}")));
    assert_eq!(app.me(&admin).await.status(), Status::Ok);
    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            &format!("http_request_duration_seconds_count{route}")
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{method="POST",route="/blacklist/logout",status="200"}"#
        ),
        1.0
    );
    // Route templates, never a request's own path: no ids or names in the labels.
    assert!(!text.contains("alice"), "{text}");
}

#[rocket::async_test]
async fn a_restart_loads_every_revocation_in_force_and_no_expired_one() {
    let first = spawn().await;
    let (token, _) = first.user_session("alice").await;
    assert_eq!(first.logout(Some(&token)).await.status(), Status::Ok);
    // One row in force and one expired an hour ago, both written behind the server's back.
    first.insert_row(3600).await;
    first.insert_row(-3600).await;
    let TestApp { client, db } = first;
    client.terminate().await;
    let second = TestApp::spawn_on(db, |f| f.merge(("metrics_token", METRICS_TOKEN))).await;
    assert_eq!(second.me(&token).await.status(), Status::Unauthorized);
    // The logged-out token's id, its ended session and the row in force.
    let text = scrape(&second).await;
    assert_eq!(value(&text, "revocation_view_entries"), 3.0, "{text}");
}
