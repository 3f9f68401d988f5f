//! The request guard: every way a token is refused on a protected route.

use base64::Engine;
use jsonwebtoken::Algorithm;
use rocket::http::Status;
use rocket::serde::json::serde_json::json;
use time::OffsetDateTime;

use crate::helpers::{claims, error_code, forge, forge_with, TestApp, TEST_SECRET};

async fn assert_refused(app: &TestApp, token: &str) {
    let res = app.me(token).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "unauthorized",
        "token {token:.40}"
    );
    let res = app.me_bearer(token).await;
    assert_eq!(res.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_forged_valid_token_is_accepted_so_the_forgery_helper_is_sound() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.me(&forge(&claims("alice", "user"))).await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_missing_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let res = app.client.get("/api/me").dispatch().await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
}

#[rocket::async_test]
async fn a_malformed_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    for bad in ["abc", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30."] {
        assert_refused(&app, bad).await;
    }
}

#[rocket::async_test]
async fn a_token_signed_with_another_secret_is_unauthorized() {
    let app = TestApp::spawn().await;
    let token = forge_with(
        &claims("alice", "admin"),
        Algorithm::HS256,
        b"some-other-secret-of-enough-length!!",
    );
    assert_refused(&app, &token).await;
}

#[rocket::async_test]
async fn an_alg_none_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
    let payload = b64.encode(claims("alice", "admin").to_string());
    assert_refused(&app, &format!("{header}.{payload}.")).await;
}

#[rocket::async_test]
async fn a_token_with_another_hmac_algorithm_is_unauthorized() {
    let app = TestApp::spawn().await;
    let token = forge_with(
        &claims("alice", "user"),
        Algorithm::HS512,
        TEST_SECRET.as_bytes(),
    );
    assert_refused(&app, &token).await;
}

#[rocket::async_test]
async fn an_expired_token_is_unauthorized_beyond_the_leeway() {
    let app = TestApp::spawn().await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut c = claims("alice", "user");
    c["exp"] = json!(now - 30);
    assert_refused(&app, &forge(&c)).await;
    // Within the 5 s leeway the token is still good.
    c["exp"] = json!(now - 2);
    assert_eq!(app.me(&forge(&c)).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_token_from_another_issuer_is_unauthorized() {
    let app = TestApp::spawn().await;
    let mut c = claims("alice", "user");
    c["iss"] = json!("someone-else");
    assert_refused(&app, &forge(&c)).await;
}

#[rocket::async_test]
async fn a_token_missing_a_claim_or_with_a_foreign_jti_is_unauthorized() {
    let app = TestApp::spawn().await;
    for field in ["exp", "jti", "sub", "iss", "role"] {
        let mut c = claims("alice", "user");
        c.as_object_mut().expect("object").remove(field);
        assert_refused(&app, &forge(&c)).await;
    }
    let mut c = claims("alice", "user");
    c["jti"] = json!("' OR 1=1 --");
    assert_refused(&app, &forge(&c)).await;
}

#[rocket::async_test]
async fn a_blacklisted_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    assert_eq!(app.me(&token).await.status(), Status::Ok);
    assert_eq!(app.logout(Some(&token)).await.status(), Status::Ok);
    assert_refused(&app, &token).await;
}

#[rocket::async_test]
async fn a_16_kb_cookie_is_unauthorized_not_an_error() {
    let app = TestApp::spawn().await;
    assert_refused(&app, &"x".repeat(16 * 1024)).await;
}

#[rocket::async_test]
async fn in_database_mode_the_guard_fails_closed_with_503_when_the_blacklist_cannot_be_read() {
    let app = TestApp::spawn_with(|f| f.merge(("revocation_check", "database"))).await;
    let token = app.user_token("alice").await;
    app.break_the_blacklist_table().await;
    let res = app.me(&token).await;
    assert_eq!(
        error_code(res, Status::ServiceUnavailable).await,
        "service_unavailable"
    );
}
