//! `POST /api/users` and `GET /api/me`.

use rocket::http::{ContentType, Method, Status};
use rocket::serde::json::serde_json::json;

use crate::helpers::{error_code, json_body, TestApp};

#[rocket::async_test]
async fn sign_up_creates_a_user_with_the_user_role() {
    let app = TestApp::spawn().await;
    let res = app.sign_up("alice", "alice-password").await;
    assert_eq!(res.status(), Status::Created);
    assert_eq!(
        json_body(res).await,
        json!({ "username": "alice", "role": "user" })
    );
    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_taken_username_is_a_conflict() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.sign_up("alice", "alice-password").await.status(),
        Status::Created
    );
    let res = app.sign_up("alice", "another-password").await;
    assert_eq!(error_code(res, Status::Conflict).await, "username_taken");
    // The first password still works: nothing was overwritten.
    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn an_invalid_username_is_unprocessable_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    for bad in [
        "ab",
        "has space",
        "x'; DROP TABLE users;--",
        "ünï",
        &"a".repeat(65),
    ] {
        let res = app.sign_up(bad, "good-password").await;
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity",
            "{bad}"
        );
    }
    assert_eq!(
        app.login("admin", "admin-password-123").await.status(),
        Status::Ok,
        "users table intact"
    );
}

#[rocket::async_test]
async fn a_short_or_huge_password_is_unprocessable() {
    let app = TestApp::spawn().await;
    for bad in ["short".to_owned(), "x".repeat(1025)] {
        let res = app.sign_up("bob", &bad).await;
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity"
        );
    }
    assert_eq!(
        app.login("bob", "short").await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn sign_up_is_refused_when_disabled() {
    let app = TestApp::spawn_with(|f| f.merge(("signup_enabled", false))).await;
    let res = app.sign_up("alice", "alice-password").await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn me_answers_with_the_tokens_identity_from_cookie_or_bearer() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    let by_cookie = json_body(app.me(&token).await).await;
    assert_eq!(by_cookie["username"], "alice");
    assert_eq!(by_cookie["role"], "user");
    assert!(by_cookie["jti"].as_str().is_some_and(|j| j.len() == 36));
    assert!(by_cookie["expires_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let by_bearer = json_body(app.me_bearer(&token).await).await;
    assert_eq!(by_cookie, by_bearer);
}

#[rocket::async_test]
async fn the_bootstrap_admin_exists_and_is_not_overwritten_on_restart() {
    let app = TestApp::spawn().await;
    let body = json_body(app.me(&app.admin_token().await).await).await;
    assert_eq!(body["role"], "admin");
    let TestApp { client, db } = app;
    client.terminate().await;
    let again =
        TestApp::spawn_on(db, |f| f.merge(("admin_password", "a-different-password"))).await;
    assert_eq!(
        again.login("admin", "admin-password-123").await.status(),
        Status::Ok
    );
    assert_eq!(
        again.login("admin", "a-different-password").await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_name_no_account_can_have_is_not_found_without_asking_the_database() {
    // On PostgreSQL a NUL in a query parameter fails the query itself: that was a 503.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (method, uri) in [
        (Method::Get, "/sessions?username=%00"),
        (Method::Patch, "/api/users/a%00b"),
        (Method::Delete, "/api/users/a%00b"),
        (Method::Get, "/sessions?username=%C3%BC%C3%BC%C3%BC"),
    ] {
        let req = app.client.req(method, uri).header(ContentType::JSON);
        let res = app
            .with_cookie(req.body(r#"{"role":"user"}"#), &admin)
            .dispatch()
            .await;
        assert_eq!(
            error_code(res, Status::NotFound).await,
            "not_found",
            "{method} {uri}"
        );
    }
}

#[rocket::async_test]
async fn usernames_are_unique_whatever_their_case_and_login_finds_the_stored_spelling() {
    let app = TestApp::spawn().await;
    for taken in ["ADMIN", "Admin", "aDmIn"] {
        let res = app.sign_up(taken, "another-password").await;
        assert_eq!(
            error_code(res, Status::Conflict).await,
            "username_taken",
            "{taken}"
        );
    }
    assert_eq!(
        app.sign_up("Alice", "alice-password").await.status(),
        Status::Created
    );
    let res = app.sign_up("alice", "other-password").await;
    assert_eq!(error_code(res, Status::Conflict).await, "username_taken");
    // Typed in any case, the login finds the account; the token carries the stored spelling.
    let res = app.login("ALICE", "alice-password").await;
    assert_eq!(res.status(), Status::Ok);
    let token = crate::helpers::jwt_cookie(&res).expect("jwt");
    assert_eq!(json_body(res).await["username"], "Alice");
    let me = app.me(&token).await;
    assert_eq!(me.status(), Status::Ok);
    assert_eq!(json_body(me).await["username"], "Alice");
    let res = app
        .with_cookie(app.client.get("/auth/verify"), &token)
        .dispatch()
        .await;
    assert_eq!(res.headers().get_one("X-Auth-Request-User"), Some("Alice"));
    let wrong = app.login("ALICE", "not-her-password").await;
    assert_eq!(
        error_code(wrong, Status::Unauthorized).await,
        "invalid_credentials"
    );
}
