//! A second factor: TOTP enrolment (`/api/mfa...`), the login's second step
//! (`/authenticate/mfa`), recovery codes, replay, skew, a challenge's lockout, a change to the
//! account voiding a pending step, and an admin's removal (`DELETE /api/users/<u>/mfa`).

use rocket::http::{ContentType, Cookie, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::{serde_json::json, Value};
use time::OffsetDateTime;

use jwt_blacklist::auth::mfa::totp;

use crate::helpers::{error_code, json_body, jwt_cookie, set_cookies, TestApp};

/// A user with TOTP on: the secret their app holds, their recovery codes, and a session.
pub(crate) struct Enrolled {
    pub secret: Vec<u8>,
    pub recovery: Vec<String>,
    pub jwt: String,
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The code `steps` 30 s steps away from now, as an app with a skewed clock would show it.
pub(crate) fn code(secret: &[u8], steps: i64) -> String {
    let at = u64::try_from(now() + steps * 30).unwrap_or(0);
    totp::code_at(secret, at).expect("a code")
}

/// Waits (up to one step) until at least 5 s of the current step remain, so that a test's codes
/// are judged in the step they were computed for.
pub(crate) async fn away_from_step_edge() {
    let ok = crate::helpers::eventually(31, || async { (1..=24).contains(&(now() % 30)) }).await;
    assert!(ok, "the clock never left a step's edge");
}

async fn send<'a>(
    app: &'a TestApp,
    method: Method,
    uri: &str,
    jwt: &str,
    body: Value,
) -> LocalResponse<'a> {
    app.with_cookie(app.client.req(method, uri.to_owned()), jwt)
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await
}

/// Signs up `name` and turns TOTP on, confirming with the previous step's code (one step of
/// skew back); the session was started before TOTP, by the password alone.
pub(crate) async fn enrol(app: &TestApp, name: &str) -> Enrolled {
    let jwt = app.user_token(name).await;
    let start = send(app, Method::Post, "/api/mfa/totp", &jwt, json!({})).await;
    assert_eq!(start.status(), Status::Ok);
    let start = json_body(start).await;
    let secret = totp_rs::Secret::Encoded(start["secret"].as_str().expect("secret").to_owned())
        .to_bytes()
        .expect("base32");
    let confirm = send(
        app,
        Method::Post,
        "/api/mfa/totp/confirm",
        &jwt,
        json!({"code": code(&secret, -1)}),
    )
    .await;
    assert_eq!(confirm.status(), Status::Ok);
    let recovery = json_body(confirm).await["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    Enrolled {
        secret,
        recovery,
        jwt,
    }
}

/// The password step; returns the `mfa` cookie's value (asserting no session cookie came).
pub(crate) async fn password_step(app: &TestApp, name: &str) -> String {
    let res = app.login(name, &format!("{name}-password")).await;
    assert_eq!(res.status(), Status::Ok);
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1, "only the mfa cookie: {cookies:?}");
    let mfa = res
        .cookies()
        .get("mfa")
        .expect("the mfa cookie")
        .value()
        .to_owned();
    let body = json_body(res).await;
    assert_eq!(body["mfa_required"], true);
    mfa
}

pub(crate) async fn second_step<'a>(app: &'a TestApp, mfa: &str, body: Value) -> LocalResponse<'a> {
    app.post_json("/authenticate/mfa", body)
        .cookie(Cookie::new("mfa", mfa.to_owned()))
        .dispatch()
        .await
}

async fn factors(app: &TestApp, jwt: &str) -> Value {
    json_body(app.authed(Method::Get, "/api/mfa", jwt).await).await
}

fn clears_mfa(res: &LocalResponse<'_>) -> bool {
    set_cookies(res)
        .iter()
        .any(|c| c.starts_with("mfa=;") && c.contains("Max-Age=0"))
}

#[rocket::async_test]
async fn totp_is_enrolled_in_two_steps_and_then_asked_after_the_password() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let jwt = app.user_token("ann").await;
    let off = factors(&app, &jwt).await;
    assert_eq!(
        off,
        json!({"totp": false, "totp_pending": false, "recovery_codes_left": 0, "methods": []})
    );

    let start = json_body(send(&app, Method::Post, "/api/mfa/totp", &jwt, json!({})).await).await;
    let secret_b32 = start["secret"].as_str().expect("secret");
    assert_eq!(secret_b32.len(), 32, "160 bits in base32");
    assert!(start["otpauth_uri"]
        .as_str()
        .expect("uri")
        .starts_with("otpauth://totp/"));
    assert!(start["qr_svg"].as_str().expect("svg").contains("<svg"));
    assert_eq!(factors(&app, &jwt).await["totp_pending"], true);
    // Pending is not on: the password alone still logs in.
    assert!(jwt_cookie(&app.login("ann", "ann-password").await).is_some());

    let secret = totp_rs::Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .expect("base32");
    let wrong = send(
        &app,
        Method::Post,
        "/api/mfa/totp/confirm",
        &jwt,
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(
        error_code(wrong, Status::Unauthorized).await,
        "invalid_code"
    );
    let confirm = send(
        &app,
        Method::Post,
        "/api/mfa/totp/confirm",
        &jwt,
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(confirm.status(), Status::Ok);
    let codes = json_body(confirm).await;
    assert_eq!(codes["recovery_codes"].as_array().map(Vec::len), Some(10));
    let on = factors(&app, &jwt).await;
    assert_eq!(on["totp"], true);
    assert_eq!(on["recovery_codes_left"], 10);
    assert_eq!(on["methods"], json!(["totp", "recovery_code"]));
    let again = send(&app, Method::Post, "/api/mfa/totp", &jwt, json!({})).await;
    assert_eq!(error_code(again, Status::Conflict).await, "conflict");

    // The password step: no session, only the challenge cookie.
    let res = app.login("ann", "ann-password").await;
    assert_eq!(res.status(), Status::Ok);
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let mfa = &cookies[0];
    for attr in [
        "mfa=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/authenticate",
        "Max-Age=300",
    ] {
        assert!(mfa.contains(attr), "{attr} in {mfa}");
    }
    assert!(
        !mfa.contains("Secure"),
        "no Secure without cookie_secure: {mfa}"
    );
    let token = res.cookies().get("mfa").expect("mfa").value().to_owned();
    assert_eq!(
        json_body(res).await,
        json!({"mfa_required": true, "methods": ["totp", "recovery_code"]})
    );

    // The confirming code is used: its step cannot log in; the next step's code (skew) can.
    let replay = second_step(&app, &token, json!({"code": code(&secret, 0)})).await;
    assert_eq!(
        error_code(replay, Status::Unauthorized).await,
        "invalid_code"
    );
    let ok = second_step(&app, &token, json!({"code": code(&secret, 1)})).await;
    assert_eq!(ok.status(), Status::Ok);
    assert!(clears_mfa(&ok));
    let names: Vec<String> = set_cookies(&ok)
        .iter()
        .map(|c| c.split('=').next().unwrap_or_default().to_owned())
        .collect();
    for name in ["jwt", "refresh", "device"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let session = jwt_cookie(&ok).expect("jwt");
    assert_eq!(json_body(ok).await["username"], "ann");
    assert_eq!(app.me(&session).await.status(), Status::Ok);
    // The challenge is used up.
    let used = second_step(&app, &token, json!({"code": code(&secret, 1)})).await;
    assert_eq!(
        error_code(used, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
}

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
async fn a_recovery_code_logs_in_once_and_new_codes_void_the_old() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let eve = enrol(&app, "eve").await;
    let first = eve.recovery[0].to_ascii_uppercase().replace('-', "");
    let mfa = password_step(&app, "eve").await;
    let both = second_step(
        &app,
        &mfa,
        json!({"code": "123456", "recovery_code": first}),
    )
    .await;
    assert_eq!(
        error_code(both, Status::UnprocessableEntity).await,
        "unprocessable_entity"
    );
    let ok = second_step(&app, &mfa, json!({"recovery_code": first})).await;
    assert_eq!(ok.status(), Status::Ok, "any case, dash optional");
    let session = jwt_cookie(&ok).expect("jwt");
    assert_eq!(factors(&app, &session).await["recovery_codes_left"], 9);

    let mfa = password_step(&app, "eve").await;
    let again = second_step(&app, &mfa, json!({"recovery_code": eve.recovery[0]})).await;
    assert_eq!(
        error_code(again, Status::Unauthorized).await,
        "invalid_code"
    );

    let wrong = send(
        &app,
        Method::Post,
        "/api/mfa/recovery-codes",
        &session,
        json!({"current_password": "nope"}),
    )
    .await;
    assert_eq!(
        error_code(wrong, Status::Unauthorized).await,
        "invalid_credentials"
    );
    let fresh = send(
        &app,
        Method::Post,
        "/api/mfa/recovery-codes",
        &session,
        json!({"current_password": "eve-password"}),
    )
    .await;
    assert_eq!(fresh.status(), Status::Ok);
    let fresh: Vec<String> = json_body(fresh).await["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let old = second_step(&app, &mfa, json!({"recovery_code": eve.recovery[1]})).await;
    assert_eq!(error_code(old, Status::Unauthorized).await, "invalid_code");
    assert_eq!(
        second_step(&app, &mfa, json!({"recovery_code": fresh[0]}))
            .await
            .status(),
        Status::Ok
    );
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
async fn turning_totp_off_needs_the_password_and_then_the_password_alone_logs_in() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let hal = enrol(&app, "hal").await;
    let wrong = send(
        &app,
        Method::Delete,
        "/api/mfa/totp",
        &hal.jwt,
        json!({"current_password": "x"}),
    )
    .await;
    assert_eq!(
        error_code(wrong, Status::Unauthorized).await,
        "invalid_credentials"
    );
    let pending = password_step(&app, "hal").await;
    let off = send(
        &app,
        Method::Delete,
        "/api/mfa/totp",
        &hal.jwt,
        json!({"current_password": "hal-password"}),
    )
    .await;
    assert_eq!(off.status(), Status::NoContent);
    // The pending step went with the factor.
    let res = second_step(&app, &pending, json!({"code": code(&hal.secret, 0)})).await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "mfa_challenge_invalid"
    );
    assert!(jwt_cookie(&app.login("hal", "hal-password").await).is_some());
    let twice = send(
        &app,
        Method::Delete,
        "/api/mfa/totp",
        &hal.jwt,
        json!({"current_password": "hal-password"}),
    )
    .await;
    assert_eq!(error_code(twice, Status::Conflict).await, "conflict");
    assert_eq!(factors(&app, &hal.jwt).await["methods"], json!([]));
}

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
async fn no_secret_or_code_is_stored_or_recorded_in_clear() {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let jay = enrol(&app, "jay").await;
    let mfa = password_step(&app, "jay").await;
    let _ = second_step(&app, &mfa, json!({"code": "999999"})).await;
    let _ = second_step(&app, &mfa, json!({"recovery_code": jay.recovery[2]})).await;
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let dump: Vec<String> = app
        .pool()
        .run(|conn| {
            diesel::sql_query(
                "SELECT secret_sealed AS t FROM mfa_totp UNION ALL SELECT code_hash FROM recovery_codes \
                 UNION ALL SELECT id FROM mfa_challenges UNION ALL SELECT detail FROM audit_events",
            )
            .load::<Text>(conn)
        })
        .await
        .expect("dump")
        .into_iter()
        .map(|r| r.t)
        .collect();
    let all = dump.join("\n");
    let b32 = totp_rs::Secret::Raw(jay.secret.clone())
        .to_encoded()
        .to_string();
    assert!(!all.contains(&b32), "the base32 secret");
    for code in &jay.recovery {
        assert!(
            !all.to_ascii_lowercase().contains(&code.replace('-', ""))
                && !all.contains(code.as_str())
        );
    }
    assert!(!all.contains(&mfa), "the challenge token");
    assert!(!all.contains("999999"));
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
