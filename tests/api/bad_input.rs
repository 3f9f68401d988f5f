//! Bad input: a clear 4xx JSON error, never a 500, and nothing written.

use rocket::http::{ContentType, Status};

use crate::helpers::{error_code, TestApp};

async fn post_raw(app: &TestApp, uri: &'static str, body: Vec<u8>) -> (Status, String) {
    let res = app
        .client
        .post(uri)
        .header(ContentType::JSON)
        .body(body)
        .dispatch()
        .await;
    let status = res.status();
    (status, error_code(res, status).await)
}

#[rocket::async_test]
async fn malformed_json_is_a_400() {
    let app = TestApp::spawn().await;
    for body in ["{", "not json", "", r#"{"username": "alice",}"#] {
        for uri in ["/authenticate", "/api/users"] {
            assert_eq!(
                post_raw(&app, uri, body.into()).await,
                (Status::BadRequest, "bad_request".into()),
                "{uri} {body:?}"
            );
        }
    }
}

#[rocket::async_test]
async fn wrong_types_and_missing_fields_are_a_422() {
    let app = TestApp::spawn().await;
    for body in [
        r#"{"username": 5, "password": "long-enough"}"#,
        r#"{"username": "alice"}"#,
        "[]",
        r#""a string""#,
    ] {
        for uri in ["/authenticate", "/api/users"] {
            let got = post_raw(&app, uri, body.into()).await;
            assert_eq!(
                got,
                (Status::UnprocessableEntity, "unprocessable_entity".into()),
                "{uri} {body}"
            );
        }
    }
}

#[rocket::async_test]
async fn the_error_message_never_echoes_the_password() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post("/api/users")
        .body(r#""hunter2-secret-password""#)
        .dispatch()
        .await;
    let text = res.into_string().await.unwrap_or_default();
    assert!(!text.contains("hunter2"), "{text}");
}

#[rocket::async_test]
async fn an_oversized_body_is_a_413() {
    let app = TestApp::spawn().await;
    let huge = format!(
        r#"{{"username": "alice", "password": "{}"}}"#,
        "x".repeat(64 * 1024)
    );
    assert_eq!(
        post_raw(&app, "/api/users", huge.into()).await,
        (Status::PayloadTooLarge, "payload_too_large".into())
    );
    assert_eq!(
        app.login("alice", "anything-at-all").await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn non_utf8_bytes_are_a_400() {
    let app = TestApp::spawn().await;
    let body = vec![b'{', 0xff, 0xfe, b'}'];
    assert_eq!(
        post_raw(&app, "/authenticate", body).await.0,
        Status::BadRequest
    );
}

#[rocket::async_test]
async fn sql_metacharacters_in_names_are_plain_data() {
    let app = TestApp::spawn().await;
    let name = "x' OR '1'='1";
    assert_eq!(
        app.login(name, "' OR '1'='1").await.status(),
        Status::Unauthorized
    );
    assert_eq!(
        app.sign_up(name, "long-enough-password").await.status(),
        Status::UnprocessableEntity
    );
    assert_eq!(app.row_count().await, 0);
}
