//! The login's second step: replay, skew, races, a challenge's lockout and the throttle, and
//! the changes that void a pending step.

use rocket::http::{ContentType, Cookie, Method, Status};
use rocket::serde::json::serde_json::json;

use super::{away_from_step_edge, clears_mfa, code, enrol, password_step, second_step, send};
use crate::helpers::{error_code, json_body, jwt_cookie, set_cookies, TestApp};

#[rocket::async_test]
async fn a_code_is_accepted_once_and_only_one_step_either_side() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let bob = enrol(&app, "bob").await; // step -1 taken
    let mfa = password_step(&app, "bob").await;
    for far in [-2, 2] {
        let res = second_step(&app, &mfa, json!({"code": code(&bob.secret, far)})).await;
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "invalid_code",
            "{far} steps"
        );
    }
    let res = second_step(&app, &mfa, json!({"code": code(&bob.secret, 0)})).await;
    assert_eq!(res.status(), Status::Ok);
    // A second login with the same code (a phished or shoulder-surfed one) is refused...
    let mfa = password_step(&app, "bob").await;
    let replay = second_step(&app, &mfa, json!({"code": code(&bob.secret, 0)})).await;
    assert_eq!(
        error_code(replay, Status::Unauthorized).await,
        "invalid_code"
    );
    // ...and so is an older one, once a later step was used.
    let older = second_step(&app, &mfa, json!({"code": code(&bob.secret, -1)})).await;
    assert_eq!(
        error_code(older, Status::Unauthorized).await,
        "invalid_code"
    );
    assert_eq!(
        second_step(&app, &mfa, json!({"code": code(&bob.secret, 1)}))
            .await
            .status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn two_requests_with_one_code_start_one_session() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let cat = enrol(&app, "cat").await;
    let (a, b) = (
        password_step(&app, "cat").await,
        password_step(&app, "cat").await,
    );
    let c = code(&cat.secret, 0);
    let (ra, rb) = rocket::tokio::join!(
        second_step(&app, &a, json!({"code": c})),
        second_step(&app, &b, json!({"code": c})),
    );
    let mut statuses = [ra.status().code, rb.status().code];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401]);
}

#[rocket::async_test]
async fn the_fifth_wrong_code_ends_the_challenge_and_wrong_codes_count_on_the_throttle() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let dan = enrol(&app, "dan").await;
    let mfa = password_step(&app, "dan").await;
    for attempt in 1..=5 {
        let res = second_step(&app, &mfa, json!({"code": "000000"})).await;
        let ended = clears_mfa(&res);
        assert_eq!(ended, attempt == 5, "attempt {attempt}");
        assert_eq!(error_code(res, Status::Unauthorized).await, "invalid_code");
    }
    let after = second_step(&app, &mfa, json!({"code": code(&dan.secret, 0)})).await;
    assert!(clears_mfa(&after));
    assert_eq!(
        error_code(after, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    // Five failures on this client and name: the next login is refused before any check,
    // so guessing across new challenges is bounded as password guessing is.
    let res = app.login("dan", "dan-password").await;
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
    // The owner's existing session is untouched.
    assert_eq!(app.me(&dan.jwt).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_password_change_or_a_lock_voids_a_pending_second_step() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let fay = enrol(&app, "fay").await;
    let pending = password_step(&app, "fay").await;
    let change = send(
        &app,
        Method::Post,
        "/api/password",
        &fay.jwt,
        json!({"current_password": "fay-password", "new_password": "fay-password-2"}),
    )
    .await;
    assert_eq!(change.status(), Status::Ok);
    let res = second_step(&app, &pending, json!({"code": code(&fay.secret, 0)})).await;
    assert!(clears_mfa(&res));
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );

    let gus = enrol(&app, "gus").await;
    let pending = password_step(&app, "gus").await;
    let admin = app.admin_token().await;
    let lock = crate::console::lock(&app, &admin, "gus", json!({"reason": "stolen phone"})).await;
    assert_eq!(lock.status(), Status::Ok);
    let res = second_step(&app, &pending, json!({"code": code(&gus.secret, 0)})).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
}

#[rocket::async_test]
async fn removing_the_account_voids_its_pending_second_step() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let max = enrol(&app, "max").await;
    let pending = password_step(&app, "max").await;
    let admin = app.admin_token().await;
    let gone = app.authed(Method::Delete, "/api/users/max", &admin).await;
    assert_eq!(gone.status(), Status::NoContent);
    let res = second_step(&app, &pending, json!({"code": code(&max.secret, 0)})).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    // A new account of the same name starts without the old one's factor.
    let _ = app.sign_up("max", "max-password").await;
    assert!(jwt_cookie(&app.login("max", "max-password").await).is_some());
}

#[rocket::async_test]
async fn the_mfa_cookie_is_secure_with_cookie_secure_and_prefixed_with_the_host_prefix() {
    let app = TestApp::spawn_with(|f| f.merge(("cookie_secure", true))).await;
    away_from_step_edge().await;
    let _ = enrol(&app, "lea").await;
    let res = app.login("lea", "lea-password").await;
    let cookies = set_cookies(&res);
    assert!(
        cookies[0].starts_with("mfa=") && cookies[0].contains("Secure"),
        "{cookies:?}"
    );

    let app = TestApp::spawn_with(|f| {
        f.merge(("cookie_secure", true))
            .merge(("cookie_host_prefix", true))
    })
    .await;
    let res = app
        .login(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
        .await;
    let jwt = res
        .cookies()
        .get("__Host-jwt")
        .expect("jwt")
        .value()
        .to_owned();
    let start = app
        .client
        .post("/api/mfa/totp")
        .header(rocket::http::Header::new(
            "Cookie",
            format!("__Host-jwt={jwt}"),
        ))
        .dispatch()
        .await;
    let secret = json_body(start).await["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let secret = totp_rs::Secret::Encoded(secret).to_bytes().expect("base32");
    let confirm = app
        .client
        .post("/api/mfa/totp/confirm")
        .header(rocket::http::Header::new(
            "Cookie",
            format!("__Host-jwt={jwt}"),
        ))
        .header(ContentType::JSON)
        .body(json!({"code": code(&secret, -1)}).to_string())
        .dispatch()
        .await;
    assert_eq!(confirm.status(), Status::Ok);
    let res = app
        .login(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
        .await;
    let cookies = set_cookies(&res);
    assert!(
        cookies[0].starts_with("__Secure-mfa=") && cookies[0].contains("Secure"),
        "{cookies:?}"
    );
    let token = res
        .cookies()
        .get("__Secure-mfa")
        .expect("mfa")
        .value()
        .to_owned();
    // The unprefixed name, which a sibling subdomain could set, is not read.
    let plain = second_step(&app, &token, json!({"code": code(&secret, 0)})).await;
    assert_eq!(
        error_code(plain, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    let prefixed = app
        .post_json("/authenticate/mfa", json!({"code": code(&secret, 0)}))
        .cookie(Cookie::new("__Secure-mfa", token))
        .dispatch()
        .await;
    assert_eq!(prefixed.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_new_challenge_does_not_reset_the_wrong_code_count() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let _ = enrol(&app, "ned").await;
    let mfa = password_step(&app, "ned").await;
    for _ in 0..3 {
        let res = second_step(&app, &mfa, json!({"code": "000000"})).await;
        assert_eq!(res.status(), Status::Unauthorized);
    }
    // A right password opens a new challenge, but proves nothing about the codes.
    let mfa = password_step(&app, "ned").await;
    for _ in 0..2 {
        let res = second_step(&app, &mfa, json!({"code": "000000"})).await;
        assert_eq!(res.status(), Status::Unauthorized);
    }
    let res = app.login("ned", "ned-password").await;
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
}

#[rocket::async_test]
async fn one_client_gets_five_code_guesses_per_window_however_many_challenges_it_opens() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let _ = enrol(&app, "ola").await;
    let mut judged = 0;
    'logins: for _ in 0..10 {
        let res = app.login("ola", "ola-password").await;
        if res.status() != Status::Ok {
            break;
        }
        let mfa = res.cookies().get("mfa").expect("mfa").value().to_owned();
        for _ in 0..4 {
            let res = second_step(&app, &mfa, json!({"code": "000000"})).await;
            if res.status() != Status::Unauthorized {
                break 'logins;
            }
            judged += 1;
        }
    }
    assert_eq!(judged, 5, "wrong codes judged for one client in one window");
}

#[rocket::async_test]
async fn the_purge_removes_expired_challenges_and_keeps_live_ones() {
    let app = TestApp::spawn().await;
    let _ = enrol(&app, "pia").await;
    let live = password_step(&app, "pia").await;
    let expire = password_step(&app, "pia").await;
    let count = |app: &TestApp| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let db = app.pool().clone();
        async move {
            db.run(|c| {
                diesel::sql_query("SELECT COUNT(*) AS n FROM mfa_challenges").get_result::<N>(c)
            })
            .await
            .expect("count")
            .n
        }
    };
    assert_eq!(count(&app).await, 2);
    // Age one challenge past its expiry, as five minutes would.
    {
        use diesel::RunQueryDsl;
        let id = jwt_blacklist::auth::mfa::challenge::challenge_id(&expire);
        app.pool()
            .run(move |c| {
                diesel::sql_query("UPDATE mfa_challenges SET expires_at = created_at WHERE id = $1")
                    .bind::<diesel::sql_types::Text, _>(id)
                    .execute(c)
            })
            .await
            .expect("age");
    }
    jwt_blacklist::auth::mfa::challenge::purge_expired(app.pool(), 100).await;
    assert_eq!(count(&app).await, 1);
    let res = second_step(&app, &expire, json!({"code": "000000"})).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    let res = second_step(&app, &live, json!({"code": "000000"})).await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "invalid_code");
}

#[rocket::async_test]
async fn an_account_keeps_at_most_ten_challenges_waiting() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let rex = enrol(&app, "rex").await;
    let first = password_step(&app, "rex").await;
    let mut latest = String::new();
    for _ in 0..10 {
        latest = password_step(&app, "rex").await;
    }
    // The eleventh ended the oldest; the newest still waits for its code.
    let res = second_step(&app, &first, json!({"code": code(&rex.secret, 0)})).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    let res = second_step(&app, &latest, json!({"code": code(&rex.secret, 0)})).await;
    assert_eq!(res.status(), Status::Ok);
}
