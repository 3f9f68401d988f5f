//! Device cookies bound to the account and its credentials: a password change, a logout
//! everywhere or a removal voids them; a login keeps its browser's device; devices per account
//! are capped; and trusted devices together have a ceiling per username, so that no number of
//! collected cookies lifts the guessing rate at an account.

use rocket::http::{ContentType, Method, Status};
use rocket::serde::json::serde_json::json;

use crate::helpers::{jwt_cookie, TestApp};
use crate::throttle::{device_cookie, lock_untrusted, login};

const HOME: &str = "198.51.100.40:5000";
const ATTACKER: &str = "203.0.113.200:4000";

/// A server whose untrusted budget per username is 3, so that tests can spend it quickly.
async fn spawn(
    configure: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
) -> TestApp {
    TestApp::spawn_with(|f| configure(f.merge(("login_max_untrusted_failures_per_user", 3)))).await
}

/// Logs `user` in from `remote` with the right password, as a new browser; its device cookie.
async fn device_of(app: &TestApp, remote: &str, user: &str, password: &str) -> String {
    let res = login(app, remote, None, user, password).await;
    assert_eq!(res.status(), Status::Ok);
    device_cookie(&res)
}

/// Whether `device` is still trusted: with the untrusted path locked, a trusted cookie gets in.
async fn trusted(app: &TestApp, device: &str, user: &str, password: &str) -> bool {
    login(app, HOME, Some(device), user, password)
        .await
        .status()
        == Status::Ok
}

#[rocket::async_test]
async fn a_password_change_voids_every_device_cookie_so_old_cookies_are_throttled_as_strangers() {
    let app = spawn(|f| f).await;
    let _ = app.sign_up("vic", "vic-password").await;
    // An attacker who knew the old password collects device cookies.
    let mut collected = Vec::new();
    for _ in 0..20 {
        collected.push(device_of(&app, ATTACKER, "vic", "vic-password").await);
    }
    let res = login(&app, HOME, None, "vic", "vic-password").await;
    let owner = jwt_cookie(&res).expect("owner's session");
    let changed = app
        .with_cookie(app.client.post("/api/password"), &owner)
        .header(ContentType::JSON)
        .body(
            json!({"current_password": "vic-password", "new_password": "vic-new-password"})
                .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(changed.status(), Status::Ok);
    // Guessing with the collected cookies now counts on the untrusted budgets: 429 soon.
    let mut answers = Vec::new();
    for (i, device) in collected.iter().cycle().take(40).enumerate() {
        let res = login(
            &app,
            ATTACKER,
            Some(device),
            "vic",
            &format!("guess-{i:04}"),
        )
        .await;
        answers.push(res.status());
    }
    let refused = answers
        .iter()
        .filter(|s| **s == Status::TooManyRequests)
        .count();
    let guessed = answers
        .iter()
        .filter(|s| **s == Status::Unauthorized)
        .count();
    assert!(
        guessed <= 3,
        "{guessed} guesses were judged, past the untrusted budget"
    );
    assert_eq!(refused + guessed, answers.len());
}

#[rocket::async_test]
async fn a_logout_everywhere_voids_the_accounts_device_cookies() {
    let app = spawn(|f| f).await;
    let _ = app.sign_up("lou", "lou-password").await;
    let device = device_of(&app, HOME, "lou", "lou-password").await;
    let token = app.user_token("lou").await;
    lock_untrusted(&app, "lou").await;
    assert!(
        trusted(&app, &device, "lou", "lou-password").await,
        "trusted before"
    );
    let res = app
        .authed(Method::Post, "/blacklist/logout-all", &token)
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(
        !trusted(&app, &device, "lou", "lou-password").await,
        "voided"
    );
}

#[rocket::async_test]
async fn a_removed_accounts_cookies_are_not_trusted_for_a_recreated_one() {
    let app = spawn(|f| f).await;
    let _ = app.sign_up("gone", "gone-password").await;
    let device = device_of(&app, HOME, "gone", "gone-password").await;
    let admin = app.admin_token().await;
    let res = app.authed(Method::Delete, "/api/users/gone", &admin).await;
    assert_eq!(res.status(), Status::NoContent);
    let _ = app.sign_up("gone", "gone-password").await;
    lock_untrusted(&app, "gone").await;
    assert!(!trusted(&app, &device, "gone", "gone-password").await);
}

#[rocket::async_test]
async fn a_login_keeps_its_browsers_device_instead_of_minting_a_new_one() {
    let app = spawn(|f| f).await;
    let _ = app.sign_up("kim", "kim-password").await;
    let first = device_of(&app, HOME, "kim", "kim-password").await;
    let res = login(&app, HOME, Some(&first), "kim", "kim-password").await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(device_cookie(&res), first, "the same device");
}

#[rocket::async_test]
async fn devices_per_account_are_capped_and_the_least_recently_used_is_forgotten() {
    let app = spawn(|f| f.merge(("max_devices_per_user", 2))).await;
    let _ = app.sign_up("cap", "cap-password").await;
    let oldest = device_of(&app, HOME, "cap", "cap-password").await;
    let second = device_of(&app, HOME, "cap", "cap-password").await;
    let newest = device_of(&app, HOME, "cap", "cap-password").await;
    lock_untrusted(&app, "cap").await;
    assert!(
        !trusted(&app, &oldest, "cap", "cap-password").await,
        "forgotten"
    );
    assert!(trusted(&app, &second, "cap", "cap-password").await);
    assert!(trusted(&app, &newest, "cap", "cap-password").await);
}

#[rocket::async_test]
async fn trusted_devices_together_have_a_ceiling_per_username() {
    let app = spawn(|f| {
        f.merge(("login_max_failures_per_user", 2))
            .merge(("login_max_trusted_failures_per_user", 5))
            .merge(("max_devices_per_user", 20))
    })
    .await;
    let _ = app.sign_up("ceil", "ceil-password").await;
    let mut devices = Vec::new();
    for _ in 0..6 {
        devices.push(device_of(&app, ATTACKER, "ceil", "ceil-password").await);
    }
    // Six devices with two failures each would be twelve guesses; the ceiling is five.
    let mut judged = 0;
    for (i, device) in devices.iter().enumerate() {
        for j in 0..2 {
            let res = login(
                &app,
                ATTACKER,
                Some(device),
                "ceil",
                &format!("guess-{i}-{j}"),
            )
            .await;
            judged += usize::from(res.status() == Status::Unauthorized);
        }
    }
    assert_eq!(judged, 5);
}
