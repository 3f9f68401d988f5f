//! Turning TOTP on (two steps) and off, new recovery codes, and what is stored.

use rocket::http::{Method, Status};
use rocket::serde::json::serde_json::json;

use super::{
    away_from_step_edge, clears_mfa, code, enrol, factors, password_step, second_step, send,
};
use crate::helpers::{error_code, json_body, jwt_cookie, set_cookies, TestApp};

#[rocket::async_test]
async fn totp_is_enrolled_in_two_steps_and_then_asked_after_the_password() {
    let app = TestApp::spawn().await;
    away_from_step_edge().await;
    let jwt = app.user_token("ann").await;
    let off = factors(&app, &jwt).await;
    assert_eq!(
        off,
        json!({"totp": false, "totp_pending": false, "recovery_codes_left": 0, "passkeys": 0, "methods": []})
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

/// On PostgreSQL, two changes of one account's recovery codes in flight at once (as two
/// `POST /api/mfa/recovery-codes` run them: hold the secret's row, then replace the set) leave
/// one set, not both: the second waits for the first and then voids its codes.
#[test]
fn two_new_code_sets_at_once_leave_one_set_live() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    use jwt_blacklist::db::{mfa_totp, recovery_codes, to_db_time, DbConnection};
    let Some(base) = crate::helpers::postgres_base_url() else {
        return; // SQLite's write transactions take the file's lock at BEGIN: no interleaving.
    };
    let db = crate::helpers::TestDb::postgres(&base);
    let url = db.url.clone();
    let rt = rocket::tokio::runtime::Runtime::new().expect("runtime");
    let app = rt.block_on(TestApp::spawn_on(db, |f| f)); // runs the migrations
    let now = to_db_time(time::OffsetDateTime::now_utc());
    let set = |p: &str| (0..10).map(|i| format!("{p}{i:063}")).collect::<Vec<_>>();
    let connect = |url: &str| DbConnection::Pg(PgConnection::establish(url).expect("pg"));
    let mut first = connect(&url);
    assert!(mfa_totp::set_pending(&mut first, "u", "sealed", now).expect("pending"));
    assert!(mfa_totp::confirm(&mut first, "u", 1, now).expect("confirm"));
    recovery_codes::replace(&mut first, "u", &set("o"), now).expect("old set");
    diesel::sql_query("BEGIN")
        .execute(&mut first)
        .expect("begin");
    assert!(mfa_totp::hold_confirmed(&mut first, "u").expect("hold"));
    recovery_codes::replace(&mut first, "u", &set("a"), now).expect("set a");
    let second = std::thread::spawn(move || {
        let mut second = connect(&url);
        diesel::sql_query("BEGIN")
            .execute(&mut second)
            .expect("begin");
        assert!(mfa_totp::hold_confirmed(&mut second, "u").expect("hold"));
        recovery_codes::replace(&mut second, "u", &set("b"), now).expect("set b");
        diesel::sql_query("COMMIT")
            .execute(&mut second)
            .expect("commit");
    });
    // The second is now waiting on the held row, or has not reached it yet: either way it
    // replaces the first's set once the first commits.
    std::thread::sleep(std::time::Duration::from_millis(300));
    diesel::sql_query("COMMIT")
        .execute(&mut first)
        .expect("commit");
    second.join().expect("second");
    assert_eq!(recovery_codes::left(&mut first, "u").expect("left"), 10);
    drop(app);
}

#[rocket::async_test]
async fn two_enrolments_started_at_once_both_succeed_and_the_later_secret_is_pending() {
    let app = TestApp::spawn().await;
    let jwt = app.user_token("sam").await;
    for _ in 0..5 {
        let (a, b) = rocket::tokio::join!(
            send(&app, Method::Post, "/api/mfa/totp", &jwt, json!({})),
            send(&app, Method::Post, "/api/mfa/totp", &jwt, json!({})),
        );
        assert_eq!((a.status(), b.status()), (Status::Ok, Status::Ok));
    }
    assert_eq!(factors(&app, &jwt).await["totp_pending"], true);
}
