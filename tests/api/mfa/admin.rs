//! An admin's reset of a user's factors, and the audit trail of every step.

use rocket::http::{Method, Status};
use rocket::serde::json::{serde_json::json, Value};

use super::{away_from_step_edge, enrol, password_step, second_step, send};
use crate::helpers::{json_body, jwt_cookie, TestApp};

#[rocket::async_test]
async fn an_admin_removes_every_factor_and_the_users_sessions_end() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let ivy = enrol(&app, "ivy").await;
    let admin = app.admin_token().await;
    let shown = json_body(app.authed(Method::Get, "/api/users/ivy", &admin).await).await;
    assert_eq!(shown["mfa"], json!(["totp"]));
    let listed = json_body(app.authed(Method::Get, "/api/users?q=ivy", &admin).await).await;
    assert_eq!(listed["items"][0]["mfa"], json!(["totp"]));

    let not_admin = app
        .authed(Method::Delete, "/api/users/ivy/mfa", &ivy.jwt)
        .await;
    assert_eq!(not_admin.status(), Status::Forbidden);
    let missing = app
        .authed(Method::Delete, "/api/users/nobody/mfa", &admin)
        .await;
    assert_eq!(missing.status(), Status::NotFound);
    let removed = app
        .authed(Method::Delete, "/api/users/ivy/mfa", &admin)
        .await;
    assert_eq!(removed.status(), Status::NoContent);
    assert_eq!(app.me(&ivy.jwt).await.status(), Status::Unauthorized);
    let shown = json_body(app.authed(Method::Get, "/api/users/ivy", &admin).await).await;
    assert_eq!(shown["mfa"], json!([]));
    assert!(jwt_cookie(&app.login("ivy", "ivy-password").await).is_some());
}

#[rocket::async_test]
async fn each_step_leaves_its_audit_event() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let kim = enrol(&app, "kim").await;
    let mfa = password_step(&app, "kim").await;
    let _ = second_step(&app, &mfa, json!({"code": "000000"})).await;
    let ok = second_step(&app, &mfa, json!({"recovery_code": kim.recovery[0]})).await;
    assert_eq!(ok.status(), Status::Ok);
    let off = send(
        &app,
        Method::Delete,
        "/api/mfa/totp",
        &kim.jwt,
        json!({"current_password": "kim-password"}),
    )
    .await;
    assert_eq!(off.status(), Status::NoContent);
    let admin = app.admin_token().await;
    let events = json_body(app.authed(Method::Get, "/audit?username=kim", &admin).await).await;
    let items = events["items"].as_array().expect("items");
    let of = |kind: &str| {
        items
            .iter()
            .find(|e| e["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} in {events}"))
    };
    assert_eq!(of("mfa.enabled")["detail"]["method"], "totp");
    assert_eq!(of("mfa.failed")["detail"]["method"], "totp");
    assert_eq!(of("recovery_code.used")["detail"]["left"], 9);
    assert_eq!(of("mfa.disabled")["actor"], "kim");
    let logins: Vec<&Value> = items
        .iter()
        .filter(|e| e["kind"] == "login.succeeded")
        .collect();
    assert_eq!(logins[0]["detail"]["second_factor"], "recovery_code");
}
