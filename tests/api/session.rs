//! `POST /authenticate`: the cookie, equal failures, and the throttle.

use jwt_blacklist::app::App;
use jwt_blacklist::auth::password::PasswordHasher;
use rocket::futures::future::join_all;
use rocket::http::{Header, Status};
use rocket::serde::json::serde_json::json;

use crate::helpers::{error_code, json_body, set_cookies, TestApp, ADMIN, ADMIN_PASSWORD};

#[rocket::async_test]
async fn login_sets_an_httponly_lax_cookie_for_the_token_lifetime() {
    let app = TestApp::spawn().await;
    let res = app.login(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::Ok);
    let cookies = set_cookies(&res);
    assert_eq!(
        cookies.len(),
        3,
        "the jwt, refresh and device cookies: {cookies:?}"
    );
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("jwt="))
        .expect("jwt cookie");
    assert!(cookie.starts_with("jwt=ey"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
        assert!(
            cookie.split("; ").any(|a| a == attr),
            "{attr} missing from {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "debug profile cookie is not Secure: {cookie}"
    );
    let body = json_body(res).await;
    assert_eq!(body["username"], ADMIN);
    assert_eq!(body["role"], "admin");
    assert!(body["expires_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
}

#[rocket::async_test]
async fn the_cookie_is_secure_when_configured_and_follows_the_ttl() {
    let app =
        TestApp::spawn_with(|f| f.merge(("cookie_secure", true)).merge(("token_ttl", 120))).await;
    let res = app.login(ADMIN, ADMIN_PASSWORD).await;
    let cookies = set_cookies(&res);
    let cookie = cookies.iter().find(|c| c.starts_with("jwt=")).expect("jwt");
    assert!(cookie.split("; ").any(|a| a == "Secure"), "{cookie}");
    assert!(cookie.split("; ").any(|a| a == "Max-Age=120"), "{cookie}");
    let refresh = cookies
        .iter()
        .find(|c| c.starts_with("refresh="))
        .expect("refresh");
    assert!(refresh.split("; ").any(|a| a == "Secure"), "{refresh}");
}

#[rocket::async_test]
async fn an_unknown_user_fails_exactly_like_a_wrong_password() {
    let app = TestApp::spawn().await;
    let wrong = app.login(ADMIN, "wrong-password").await;
    assert!(set_cookies(&wrong).is_empty());
    let (wrong_status, wrong_body) = (wrong.status(), json_body(wrong).await);
    let unknown = app.login("nobody-here", "wrong-password").await;
    let (unknown_status, unknown_body) = (unknown.status(), json_body(unknown).await);
    assert_eq!(wrong_status, Status::Unauthorized);
    assert_eq!(wrong_status, unknown_status);
    assert_eq!(wrong_body, unknown_body);
    assert_eq!(wrong_body["error"], "invalid_credentials");
}

#[rocket::async_test]
async fn an_unknown_user_costs_one_argon2_verification_like_a_known_one() {
    let app = TestApp::spawn().await;
    let hasher: &PasswordHasher = &app.client.rocket().state::<App>().expect("app").hasher;
    let before = hasher.verifications();
    app.login(ADMIN, "wrong-password").await;
    let known = hasher.verifications() - before;
    app.login("nobody-here", "wrong-password").await;
    app.login("not a valid name!", "wrong-password").await;
    let unknown = hasher.verifications() - before - known;
    assert_eq!((known, unknown), (1, 2));
}

#[rocket::async_test]
async fn parallel_wrong_passwords_cannot_outrun_the_throttle() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_user", 5))).await;
    let attempts = (0..20).map(|_| app.login(ADMIN, "wrong-password"));
    let statuses: Vec<Status> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let judged = statuses
        .iter()
        .filter(|s| **s == Status::Unauthorized)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == Status::TooManyRequests)
        .count();
    assert_eq!((judged, refused), (5, 15), "{statuses:?}");
}

#[rocket::async_test]
async fn repeated_failures_for_one_username_answer_429_with_retry_after() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_user", 3))).await;
    for _ in 0..3 {
        assert_eq!(
            app.login(ADMIN, "wrong-password").await.status(),
            Status::Unauthorized
        );
    }
    let res = app.login(ADMIN, ADMIN_PASSWORD).await;
    let retry: u64 = res
        .headers()
        .get_one("Retry-After")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=300).contains(&retry), "{retry}");
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
    // Other users are not affected.
    let token = app.user_token("alice").await;
    assert!(!token.is_empty());
}

#[rocket::async_test]
async fn repeated_failures_from_one_address_answer_429_across_usernames() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_ip", 4))).await;
    let attacker = "192.0.2.7:40000".parse().expect("addr");
    for i in 0..4 {
        let res = app
            .login_from(attacker, &format!("guess{i}"), "wrong-password")
            .await;
        assert_eq!(res.status(), Status::Unauthorized);
    }
    let res = app.login_from(attacker, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::TooManyRequests);
    let elsewhere = "198.51.100.1:40000".parse().expect("addr");
    assert_eq!(
        app.login_from(elsewhere, ADMIN, ADMIN_PASSWORD)
            .await
            .status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_spoofed_forwarding_header_does_not_escape_the_address_throttle() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_ip", 2))).await;
    let attacker = "192.0.2.7:40000".parse().expect("addr");
    for i in 0..4 {
        let body = json!({ "username": format!("guess{i}"), "password": "wrong-password" });
        let res = app
            .post_json("/authenticate", body)
            .remote(attacker)
            .header(Header::new("X-Real-IP", format!("203.0.113.{i}")))
            .dispatch()
            .await;
        if i >= 2 {
            assert_eq!(res.status(), Status::TooManyRequests, "attempt {i}");
        }
    }
}
