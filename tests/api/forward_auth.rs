//! `GET /auth/verify`: the forward-auth answer reverse proxies act on.

use rocket::http::{Header, Status};

use crate::helpers::{error_code, json_body, TestApp, ADMIN};

fn header<'a>(
    res: &'a rocket::local::asynchronous::LocalResponse<'_>,
    name: &str,
) -> Option<&'a str> {
    res.headers().get_one(name)
}

#[rocket::async_test]
async fn a_valid_cookie_gets_200_with_the_user_and_role_headers() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    let res = app
        .with_cookie(app.client.get("/auth/verify"), &token)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(header(&res, "X-Auth-Request-User"), Some("alice"));
    assert_eq!(header(&res, "X-Auth-Request-Role"), Some("user"));
    assert_eq!(header(&res, "Cache-Control"), Some("no-store"));
    let body = json_body(res).await;
    assert_eq!(body["username"], "alice");
}

#[rocket::async_test]
async fn a_bearer_token_works_too_and_the_admin_role_is_passed_on() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let res = app
        .client
        .get("/auth/verify")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(header(&res, "X-Auth-Request-User"), Some(ADMIN));
    assert_eq!(header(&res, "X-Auth-Request-Role"), Some("admin"));
}

#[rocket::async_test]
async fn no_token_a_bad_token_or_a_forged_user_header_gets_401_without_user_headers() {
    let app = TestApp::spawn().await;
    let requests = [
        app.client.get("/auth/verify"),
        app.with_cookie(app.client.get("/auth/verify"), "not-a-token"),
        app.client
            .get("/auth/verify")
            .header(Header::new("X-Auth-Request-User", ADMIN)),
    ];
    for req in requests {
        let res = req.dispatch().await;
        assert_eq!(header(&res, "X-Auth-Request-User"), None);
        assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    }
}

#[rocket::async_test]
async fn after_logout_the_same_cookie_gets_401_at_once() {
    let app = TestApp::spawn().await;
    let (token, _) = app.user_session("alice").await;
    assert_eq!(app.logout(Some(&token)).await.status(), Status::Ok);
    let res = app
        .with_cookie(app.client.get("/auth/verify"), &token)
        .dispatch()
        .await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
}

#[rocket::async_test]
async fn after_logout_everywhere_every_session_gets_401() {
    let app = TestApp::spawn().await;
    let (first, _) = app.user_session("alice").await;
    let (second, _) = app.user_session("alice").await;
    let res = app
        .authed(rocket::http::Method::Post, "/blacklist/logout-all", &first)
        .await;
    assert_eq!(res.status(), Status::Ok);
    for token in [first, second] {
        let res = app
            .with_cookie(app.client.get("/auth/verify"), &token)
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn when_revocation_cannot_be_checked_it_fails_closed_with_503() {
    let app = TestApp::spawn_with(|f| f.merge(("revocation_check", "database"))).await;
    let token = app.user_token("alice").await;
    app.break_the_blacklist_table().await;
    let res = app
        .with_cookie(app.client.get("/auth/verify"), &token)
        .dispatch()
        .await;
    assert_eq!(header(&res, "X-Auth-Request-User"), None);
    assert_eq!(
        error_code(res, Status::ServiceUnavailable).await,
        "service_unavailable"
    );
}
