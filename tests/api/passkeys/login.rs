//! Logging in with a passkey: passwordless, and as the second step after a password; and every
//! answer that must be refused.

use rocket::http::{Method, Status};
use rocket::serde::json::serde_json::json;

use super::{
    authenticator, finish_login, finish_step, own_event_kinds, register, start_login, start_step,
};
use crate::helpers::{error_code, json_body, jwt_cookie, TestApp};
use crate::mfa::{clears_mfa, password_step, send};

#[rocket::async_test]
async fn a_passkey_logs_in_without_a_password_once_per_challenge() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    let options = start_login(&app).await;
    assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let assertion = ada.key.assert(&options);
    let res = finish_login(&app, &assertion).await;
    assert_eq!(res.status(), Status::Ok);
    let jwt = jwt_cookie(&res).expect("a session");
    assert_eq!(json_body(res).await["username"], "ada");
    assert_eq!(app.me(&jwt).await.status(), Status::Ok);
    // The same answer again: its challenge was used.
    let replay = finish_login(&app, &assertion).await;
    assert_eq!(
        error_code(replay, Status::Unauthorized).await,
        "passkey_refused"
    );
    let listed = json_body(app.authed(Method::Get, "/api/passkeys", &jwt).await).await;
    assert!(
        listed["passkeys"][0]["last_used_at"].is_string(),
        "{listed}"
    );
    let kinds = own_event_kinds(&app, &jwt).await;
    assert_eq!(kinds[0], "login.passkey", "{kinds:?}");
}

/// One thing a forged answer gets wrong.
type Forgery = fn(&mut super::SoftAuthenticator);

#[rocket::async_test]
async fn forged_answers_are_refused() {
    // Refusals count on the login throttle like wrong passwords; this test makes more than its
    // default five, on purpose.
    let app = TestApp::spawn_with(|f| {
        f.merge(("login_max_failures_per_user", 50))
            .merge(("login_max_untrusted_failures_per_user", 50))
    })
    .await;
    let mut ada = register(&app, "ada").await;
    // One good login, so that the stored counter is past 0.
    let options = start_login(&app).await;
    assert_eq!(
        finish_login(&app, &ada.key.assert(&options)).await.status(),
        Status::Ok
    );

    let (origin, rp_id) = (ada.key.origin.clone(), ada.key.rp_id.clone());
    let forgeries: [(&str, Forgery); 5] = [
        ("another port", |k| {
            k.origin = "http://localhost:8001".into()
        }),
        ("another site", |k| k.origin = "https://evil.example".into()),
        ("another RP id", |k| k.rp_id = "evil.example".into()),
        ("no user verification", |k| k.user_verified = false),
        ("a counter set back", |k| k.counter = 0),
    ];
    for (what, forge) in forgeries {
        forge(&mut ada.key);
        let options = start_login(&app).await;
        let res = finish_login(&app, &ada.key.assert(&options)).await;
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "passkey_refused",
            "{what}"
        );
        ada.key.origin.clone_from(&origin);
        ada.key.rp_id.clone_from(&rp_id);
        ada.key.user_verified = true;
        ada.key.counter = ada.key.counter.max(5);
    }
    // An authenticator nobody registered, claiming to be Ada's.
    let mut stranger = authenticator();
    stranger.user_handle.clone_from(&ada.key.user_handle);
    let options = start_login(&app).await;
    let res = finish_login(&app, &stranger.assert(&options)).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "passkey_refused"
    );
    // A counter that moved forward passes again.
    let options = start_login(&app).await;
    assert_eq!(
        finish_login(&app, &ada.key.assert(&options)).await.status(),
        Status::Ok
    );
    // An answer to no challenge at all.
    let res = finish_login(
        &app,
        &ada.key.assert(&json!({"publicKey": {"challenge": "AAAA"}})),
    )
    .await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "passkey_refused"
    );
}

#[rocket::async_test]
async fn refused_answers_count_on_the_login_throttle() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    ada.key.user_verified = false;
    for _ in 0..5 {
        let options = start_login(&app).await;
        let res = finish_login(&app, &ada.key.assert(&options)).await;
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "passkey_refused"
        );
    }
    ada.key.user_verified = true;
    let options = start_login(&app).await;
    let res = finish_login(&app, &ada.key.assert(&options)).await;
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
}

#[rocket::async_test]
async fn a_password_login_of_an_account_with_a_passkey_asks_for_it() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    let login = app.login("ada", "ada-password").await;
    assert_eq!(json_body(login).await["methods"], json!(["passkey"]));
    let mfa = password_step(&app, "ada").await;
    let other = password_step(&app, "ada").await;

    // Without the cookie, nothing starts.
    let none = app
        .post_json("/authenticate/mfa/passkey/start", json!({}))
        .dispatch()
        .await;
    assert_eq!(
        error_code(none, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    let start = start_step(&app, &mfa).await;
    assert_eq!(start.status(), Status::Ok);
    let options = json_body(start).await;
    let allowed = options["publicKey"]["allowCredentials"]
        .as_array()
        .expect("a list");
    assert_eq!(allowed.len(), 1, "her own passkey is offered");
    assert!(ada.key.is_allowed(&options));
    let assertion = ada.key.assert(&options);
    // The ceremony belongs to its own challenge: another one of hers cannot use it.
    let crossed = finish_step(&app, &other, &assertion).await;
    assert_eq!(
        error_code(crossed, Status::Unauthorized).await,
        "passkey_refused"
    );

    let start = start_step(&app, &mfa).await;
    let assertion = ada.key.assert(&json_body(start).await);
    let res = finish_step(&app, &mfa, &assertion).await;
    assert_eq!(res.status(), Status::Ok);
    assert!(clears_mfa(&res));
    let jwt = jwt_cookie(&res).expect("a session");
    assert_eq!(app.me(&jwt).await.status(), Status::Ok);
    let replay = finish_step(&app, &mfa, &assertion).await;
    assert_eq!(
        error_code(replay, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    let page = json_body(app.authed(Method::Get, "/api/events", &jwt).await).await;
    assert_eq!(page["items"][0]["kind"], "login.succeeded");
    assert_eq!(
        page["items"][0]["detail"]["second_factor"], "passkey",
        "{page}"
    );
}

#[rocket::async_test]
async fn a_refused_second_step_counts_and_the_fifth_ends_the_challenge() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    let mfa = password_step(&app, "ada").await;
    ada.key.origin = "https://evil.example".into();
    let mut ended = false;
    for _ in 0..5 {
        let start = start_step(&app, &mfa).await;
        assert_eq!(start.status(), Status::Ok);
        let assertion = ada.key.assert(&json_body(start).await);
        let res = finish_step(&app, &mfa, &assertion).await;
        ended = clears_mfa(&res);
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "passkey_refused"
        );
    }
    assert!(ended, "the fifth refusal clears the mfa cookie");
    let gone = start_step(&app, &mfa).await;
    assert_eq!(
        error_code(gone, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    let kinds = own_event_kinds(&app, &ada.jwt).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "mfa.failed").count(),
        5,
        "{kinds:?}"
    );
}

#[rocket::async_test]
async fn a_password_change_voids_a_pending_passkey_step() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    let mfa = password_step(&app, "ada").await;
    let start = start_step(&app, &mfa).await;
    let assertion = ada.key.assert(&json_body(start).await);
    let body = json!({"current_password": "ada-password", "new_password": "ada-new-password-1"});
    let changed = send(&app, Method::Post, "/api/password", &ada.jwt, body).await;
    assert!(changed.status().code < 300, "{}", changed.status());
    let res = finish_step(&app, &mfa, &assertion).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
}

#[rocket::async_test]
async fn two_copies_of_one_answer_at_once_start_one_session() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    let options = start_login(&app).await;
    let assertion = ada.key.assert(&options);
    let (a, b) = tokio::join!(
        finish_login(&app, &assertion),
        finish_login(&app, &assertion)
    );
    let mut statuses = [a.status().code, b.status().code];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "one passes, the copy is refused");
}

#[rocket::async_test]
async fn a_locked_account_is_told_so_after_a_valid_passkey_only() {
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    let admin = app.admin_token().await;
    let locked = crate::console::lock(&app, &admin, "ada", json!({"reason": "lost laptop"})).await;
    assert_eq!(locked.status(), Status::Ok);
    let options = start_login(&app).await;
    let res = finish_login(&app, &ada.key.assert(&options)).await;
    assert_eq!(error_code(res, Status::Forbidden).await, "account_locked");
    ada.key.user_verified = false;
    let options = start_login(&app).await;
    let res = finish_login(&app, &ada.key.assert(&options)).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "passkey_refused"
    );
}

#[rocket::async_test]
async fn a_malformed_answer_is_refused_and_a_body_without_one_is_unprocessable() {
    let app = TestApp::spawn().await;
    for junk in [
        json!("x"),
        json!({}),
        json!({"id": "a", "rawId": "!!", "type": "public-key"}),
    ] {
        let res = finish_login(&app, &junk).await;
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "passkey_refused",
            "{junk}"
        );
    }
    let res = app
        .post_json("/authenticate/passkey/finish", json!({"name": "x"}))
        .dispatch()
        .await;
    assert_eq!(
        error_code(res, Status::UnprocessableEntity).await,
        "unprocessable_entity"
    );
}

#[rocket::async_test]
async fn passwordless_starts_count_on_the_addresss_logins() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_per_ip", 3))).await;
    let from = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    for port in 1..=3 {
        let res = app
            .post_json("/authenticate/passkey/start", json!({}))
            .remote(from(port))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
    }
    let res = app
        .post_json("/authenticate/passkey/start", json!({}))
        .remote(from(4))
        .dispatch()
        .await;
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
    let elsewhere = app
        .post_json("/authenticate/passkey/start", json!({}))
        .remote(std::net::SocketAddr::from(([10, 0, 0, 1], 1)))
        .dispatch()
        .await;
    assert_eq!(
        elsewhere.status(),
        Status::Ok,
        "another address has its own budget"
    );
}
