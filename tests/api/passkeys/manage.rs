//! Registering, listing, naming and removing passkeys; an admin's removal of every factor.

use rocket::http::{Method, Status};
use rocket::serde::json::serde_json::json;

use super::{authenticator, finish_registration, own_event_kinds, register, start_registration};
use crate::helpers::{error_code, json_body, TestApp};
use crate::mfa::{factors, send};

#[rocket::async_test]
async fn a_registered_passkey_is_listed_renamed_and_removed_with_the_password() {
    let app = TestApp::spawn().await;
    let ada = register(&app, "ada").await;
    let listed = json_body(app.authed(Method::Get, "/api/passkeys", &ada.jwt).await).await;
    let passkeys = listed["passkeys"].as_array().expect("a list");
    assert_eq!(passkeys.len(), 1);
    assert_eq!(passkeys[0]["id"], ada.id.as_str());
    assert_eq!(passkeys[0]["name"], "laptop");
    assert!(passkeys[0]["created_at"].is_string());
    assert!(passkeys[0]["last_used_at"].is_null());
    let status = factors(&app, &ada.jwt).await;
    assert_eq!(status["passkeys"], 1);
    assert_eq!(status["methods"], json!(["passkey"]));

    let uri = format!("/api/passkeys/{}", ada.id);
    let renamed = send(
        &app,
        Method::Patch,
        &uri,
        &ada.jwt,
        json!({"name": "  phone "}),
    )
    .await;
    assert_eq!(renamed.status(), Status::Ok);
    assert_eq!(json_body(renamed).await["name"], "phone");
    let blank = send(&app, Method::Patch, &uri, &ada.jwt, json!({"name": " "})).await;
    assert_eq!(
        error_code(blank, Status::UnprocessableEntity).await,
        "unprocessable_entity"
    );

    // Someone else's session cannot name or remove it.
    let bob = app.user_token("bob").await;
    let theirs = send(&app, Method::Patch, &uri, &bob, json!({"name": "mine"})).await;
    assert_eq!(error_code(theirs, Status::NotFound).await, "not_found");
    let body = json!({"current_password": "bob-password"});
    let theirs = send(&app, Method::Delete, &uri, &bob, body).await;
    assert_eq!(error_code(theirs, Status::NotFound).await, "not_found");

    let wrong = json!({"current_password": "not-her-password"});
    let refused = send(&app, Method::Delete, &uri, &ada.jwt, wrong).await;
    assert_eq!(
        error_code(refused, Status::Unauthorized).await,
        "invalid_credentials"
    );
    let right = json!({"current_password": "ada-password"});
    let removed = send(&app, Method::Delete, &uri, &ada.jwt, right).await;
    assert_eq!(removed.status(), Status::NoContent);
    let listed = json_body(app.authed(Method::Get, "/api/passkeys", &ada.jwt).await).await;
    assert_eq!(listed["passkeys"], json!([]));
    // Without a factor, the password alone logs in again.
    let login = app.login("ada", "ada-password").await;
    assert_eq!(login.status(), Status::Ok);
    assert!(json_body(login).await.get("mfa_required").is_none());
    let kinds = own_event_kinds(&app, &ada.jwt).await;
    assert!(kinds.contains(&"passkey.added".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"passkey.removed".to_owned()), "{kinds:?}");
    let page = json_body(app.authed(Method::Get, "/api/events", &ada.jwt).await).await;
    // Newest first: the password login above, then the removal.
    let removed = &page["items"][1];
    assert_eq!(removed["kind"], "passkey.removed", "{page}");
    assert_eq!(removed["detail"]["passkey"], ada.id.as_str());
    assert_eq!(
        removed["detail"]["name"], "phone",
        "the name it had when it went"
    );
}

#[rocket::async_test]
async fn a_registration_is_refused_from_another_origin_rp_id_or_without_verification() {
    let app = TestApp::spawn().await;
    let jwt = app.user_token("ada").await;
    let forged = [
        authenticator().with_origin("http://localhost:8001"),
        authenticator().with_origin("https://evil.example"),
        authenticator().with_rp_id("evil.example"),
        authenticator().with_user_verified(false),
    ];
    for mut key in forged {
        let options = start_registration(&app, &jwt).await;
        let res = finish_registration(&app, &jwt, "forged", key.register(&options)).await;
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "passkey_refused"
        );
    }
    let listed = json_body(app.authed(Method::Get, "/api/passkeys", &jwt).await).await;
    assert_eq!(listed["passkeys"], json!([]), "nothing was stored");
}

#[rocket::async_test]
async fn a_registration_answers_its_own_start_once() {
    let app = TestApp::spawn().await;
    let jwt = app.user_token("ada").await;
    let bob = app.user_token("bob").await;
    let options = start_registration(&app, &jwt).await;
    let mut key = authenticator();
    let credential = key.register(&options);
    // Bob cannot finish Ada's registration, and his try spends it.
    let stolen = finish_registration(&app, &bob, "stolen", credential.clone()).await;
    assert_eq!(
        error_code(stolen, Status::Unauthorized).await,
        "passkey_refused"
    );
    let late = finish_registration(&app, &jwt, "laptop", credential).await;
    assert_eq!(
        error_code(late, Status::Unauthorized).await,
        "passkey_refused"
    );

    let options = start_registration(&app, &jwt).await;
    let credential = key.register(&options);
    let first = finish_registration(&app, &jwt, "laptop", credential.clone()).await;
    assert_eq!(first.status(), Status::Created);
    let replay = finish_registration(&app, &jwt, "again", credential).await;
    assert_eq!(
        error_code(replay, Status::Unauthorized).await,
        "passkey_refused"
    );
    // A registered authenticator is excluded from the next start.
    let next = start_registration(&app, &jwt).await;
    let excluded = next["publicKey"]["excludeCredentials"]
        .as_array()
        .expect("a list");
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["id"], key.credential_id_b64().as_str());
    assert_eq!(
        next["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
}

#[rocket::async_test]
async fn an_admin_removes_every_passkey_and_the_console_shows_them() {
    let app = TestApp::spawn().await;
    let ivy = register(&app, "ivy").await;
    let admin = app.admin_token().await;
    let shown = json_body(app.authed(Method::Get, "/api/users/ivy", &admin).await).await;
    assert_eq!(shown["mfa"], json!(["passkey"]));
    let all = json_body(app.authed(Method::Get, "/api/users", &admin).await).await;
    let items = all["items"].as_array().expect("items");
    let listed = items.iter().find(|u| u["username"] == "ivy").expect("ivy");
    assert_eq!(listed["mfa"], json!(["passkey"]), "{all}");
    let reset = app
        .authed(Method::Delete, "/api/users/ivy/mfa", &admin)
        .await;
    assert_eq!(reset.status(), Status::NoContent);
    let shown = json_body(app.authed(Method::Get, "/api/users/ivy", &admin).await).await;
    assert_eq!(shown["mfa"], json!([]));
    // Her sessions ended with it; the password alone logs in now.
    assert_eq!(app.me(&ivy.jwt).await.status(), Status::Unauthorized);
    let jwt = app.user_token("ivy").await;
    let listed = json_body(app.authed(Method::Get, "/api/passkeys", &jwt).await).await;
    assert_eq!(listed["passkeys"], json!([]));
}
