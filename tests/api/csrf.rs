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

#[rocket::async_test]
async fn without_origin_a_cross_site_or_same_site_fetch_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    let login = format!(r#"{{"username":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#);
    for site in ["cross-site", "same-site"] {
        let req = app
            .client
            .post("/blacklist/logout")
            .header(Header::new("Sec-Fetch-Site", site));
        let res = app.with_cookie(req, &token).dispatch().await;
        assert_eq!(
            error_code(res, Status::Forbidden).await,
            "cross_origin_request",
            "logout, {site}"
        );
        let res = app
            .client
            .post("/authenticate")
            .header(Header::new("Sec-Fetch-Site", site))
            .body(login.clone())
            .dispatch()
            .await;
        assert!(res.headers().get_one("Set-Cookie").is_none(), "{site}");
        assert_eq!(
            error_code(res, Status::Forbidden).await,
            "cross_origin_request",
            "login, {site}"
        );
    }
    assert_eq!(
        app.me(&token).await.status(),
        Status::Ok,
        "the refused logouts revoked nothing"
    );
}

#[rocket::async_test]
async fn without_origin_a_same_origin_or_user_initiated_fetch_passes() {
    let app = TestApp::spawn().await;
    let login = format!(r#"{{"username":"{ADMIN}","password":"{ADMIN_PASSWORD}"}}"#);
    for site in ["same-origin", "none"] {
        let res = app
            .client
            .post("/authenticate")
            .header(Header::new("Sec-Fetch-Site", site))
            .body(login.clone())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok, "login, {site}");
        let token = app.admin_token().await;
        let req = app
            .client
            .post("/blacklist/logout")
            .header(Header::new("Sec-Fetch-Site", site));
        let res = app.with_cookie(req, &token).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "logout, {site}");
        assert_eq!(app.me(&token).await.status(), Status::Unauthorized);
    }
}

/// `POST /blacklist/logout` addressed to `api.example` from `origin`, with `token` as cookie.
async fn logout_from(app: &TestApp, origin: &str, token: &str) -> Status {
    let req = app
        .client
        .post("/blacklist/logout")
        .header(Header::new("Host", "api.example"))
        .header(Header::new("Origin", origin.to_owned()));
    app.with_cookie(req, token).dispatch().await.status()
}

#[rocket::async_test]
async fn the_origins_scheme_must_be_the_servers() {
    // Plain HTTP (the debug profile's cookies are not `Secure`): an https origin is another one.
    let http = TestApp::spawn().await;
    let token = http.user_token("alice").await;
    assert_eq!(
        logout_from(&http, "https://api.example", &token).await,
        Status::Forbidden
    );
    assert_eq!(http.me(&token).await.status(), Status::Ok);
    assert_eq!(
        logout_from(&http, "http://api.example", &token).await,
        Status::Ok
    );
    assert_eq!(http.me(&token).await.status(), Status::Unauthorized);

    // `cookie_secure = true`: the public side is HTTPS (a proxy terminates TLS).
    let https = TestApp::spawn_with(|f| f.merge(("cookie_secure", true))).await;
    let token = https.user_token("alice").await;
    assert_eq!(
        logout_from(&https, "http://api.example", &token).await,
        Status::Forbidden
    );
    assert_eq!(https.me(&token).await.status(), Status::Ok);
    assert_eq!(
        logout_from(&https, "https://api.example", &token).await,
        Status::Ok
    );
    assert_eq!(https.me(&token).await.status(), Status::Unauthorized);
}
