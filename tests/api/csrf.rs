//! The same-origin rule on every state-changing route.

use rocket::http::{Header, Method, Status};

use crate::helpers::{error_code, TestApp, ADMIN, ADMIN_PASSWORD};

#[rocket::async_test]
async fn every_state_changing_route_refuses_a_foreign_origin() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mutating: Vec<(Method, String)> = app
        .client
        .rocket()
        .routes()
        .filter(|r| {
            matches!(
                r.method,
                Method::Post | Method::Put | Method::Patch | Method::Delete
            )
        })
        .map(|r| {
            // Dynamic segments (`<id>`, `<username>`) get a value that would match.
            let path = r
                .uri
                .path()
                .split('/')
                .map(|seg| if seg.starts_with('<') { "alice" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            (r.method, path)
        })
        .collect();
    assert!(mutating.len() >= 10, "{mutating:?}");
    for (method, path) in mutating {
        for origin in ["https://evil.example", "null"] {
            let req = app
                .client
                .req(method, path.clone())
                .header(Header::new("Origin", origin));
            let res = app
                .with_cookie(req, &admin)
                .body(r#"{"username":"x","password":"y"}"#)
                .dispatch()
                .await;
            assert_eq!(
                error_code(res, Status::Forbidden).await,
                "cross_origin_request",
                "{method} {path} from {origin}"
            );
        }
    }
    // Nothing changed: the admin token was not revoked by the refused logout.
    assert_eq!(app.me(&admin).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_cross_origin_login_sets_no_cookie() {
    let app = TestApp::spawn().await;
    let body = format!(r#"{{"username":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#);
    let res = app
        .client
        .post("/authenticate")
        .header(Header::new("Origin", "https://evil.example"))
        .body(body)
        .dispatch()
        .await;
    assert!(res.headers().get_one("Set-Cookie").is_none());
    assert_eq!(res.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn same_origin_and_allowed_origins_pass() {
    let app = TestApp::spawn_with(|f| f.merge(("allowed_origins", ["https://spa.example"]))).await;
    let token = app.user_token("alice").await;
    let res = app
        .client
        .post("/blacklist/logout")
        .header(Header::new("Host", "api.example:8000"))
        .header(Header::new("Origin", "http://api.example:8000"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let req = app
        .client
        .post("/blacklist/logout")
        .header(Header::new("Origin", "https://spa.example"));
    let res = app.with_cookie(req, &token).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        app.me(&token).await.status(),
        Status::Unauthorized,
        "the allowed origin's logout took effect"
    );
}
