//! Session lifetime: the idle timeout, the absolute lifetime (capping the refresh cookie's
//! `Max-Age` and a refreshed access token's `exp`), remember-me, and the purge ending expired
//! sessions with `session.expired`.
//!
//! These wait for real seconds to pass (short timeouts, a one-second access token): each waits
//! until a computed instant, never for a guessed delay.

use rocket::figment::Figment;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::LocalResponse;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::helpers::{json_body, refresh_cookie, TestApp};

/// Waits until `instant` has passed.
async fn until(instant: OffsetDateTime) {
    let left = instant - OffsetDateTime::now_utc();
    if left.is_positive() {
        rocket::tokio::time::sleep(left.unsigned_abs()).await;
    }
}

fn secs(s: i64) -> time::Duration {
    time::Duration::seconds(s)
}

/// The `Max-Age` of the cookie `name` a response sets (`None`: a cookie without one).
fn max_age(res: &LocalResponse<'_>, name: &str) -> Option<i64> {
    let cookie = res.cookies().get(name).expect("the cookie is set");
    assert!(cookie.expires().is_none(), "no Expires: {cookie}");
    cookie.max_age().map(|a| a.whole_seconds())
}

async fn login<'a>(app: &'a TestApp, name: &str, remember: Option<bool>) -> LocalResponse<'a> {
    let password = format!("{name}-password");
    let _ = app.sign_up(name, &password).await;
    let mut body = json!({ "username": name, "password": password });
    if let Some(remember) = remember {
        body["remember"] = json!(remember);
    }
    app.post_json("/authenticate", body).dispatch().await
}

/// The body's `expires_at` (the access token's `exp`), as an instant.
async fn expires_at(res: LocalResponse<'_>) -> OffsetDateTime {
    let body: Value = json_body(res).await;
    let at = body["expires_at"].as_str().expect("expires_at");
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).expect("RFC 3339")
}

/// One-second access tokens and the given timeouts (seconds, 0 = none).
fn short(idle: i64, max: i64, unremembered: i64) -> impl FnOnce(Figment) -> Figment {
    lasting(1, idle, max, unremembered)
}

fn lasting(
    token_ttl: i64,
    idle: i64,
    max: i64,
    unremembered: i64,
) -> impl FnOnce(Figment) -> Figment {
    move |f| {
        f.merge(("token_ttl", token_ttl))
            .merge(("session_idle_timeout", idle))
            .merge(("session_max_lifetime", max))
            .merge(("session_max_lifetime_unremembered", unremembered))
    }
}

/// Asserts that `res` refused a refresh and cleared both cookies.
fn refused_and_cleared(res: &LocalResponse<'_>) {
    assert_eq!(res.status(), Status::Unauthorized);
    for name in ["jwt", "refresh"] {
        let cookie = res.cookies().get(name).expect("cleared");
        assert_eq!(cookie.value(), "", "{name} cleared");
    }
}

#[rocket::async_test]
async fn a_session_left_alone_past_the_idle_timeout_ends_and_each_refresh_slides_it() {
    let app = TestApp::spawn_with(short(3, 0, 0)).await;
    let res = login(&app, "idle", None).await;
    assert_eq!(res.status(), Status::Ok);
    assert!(
        max_age(&res, "refresh").is_some_and(|a| a <= 3),
        "capped at the idle end"
    );
    let mut refresh = refresh_cookie(&res).expect("refresh");
    // Refreshed every second, the session outlives its idle timeout twice over.
    let started = OffsetDateTime::now_utc();
    while OffsetDateTime::now_utc() - started < secs(6) {
        until(OffsetDateTime::now_utc() + secs(1)).await;
        let res = app.refresh(&refresh).await;
        assert_eq!(res.status(), Status::Ok, "active: still alive");
        assert!(max_age(&res, "refresh").is_some_and(|a| (2..=3).contains(&a)));
        refresh = refresh_cookie(&res).expect("rotated");
    }
    // Left alone past it, it ends.
    until(OffsetDateTime::now_utc() + secs(4)).await;
    refused_and_cleared(&app.refresh(&refresh).await);
}

#[rocket::async_test]
async fn a_session_ends_at_its_max_lifetime_however_active_and_nothing_outlives_it() {
    // Three-second access tokens in a four-second session: late ones must be cut short.
    let app = TestApp::spawn_with(lasting(3, 0, 4, 0)).await;
    let before = OffsetDateTime::now_utc()
        .replace_millisecond(0)
        .expect("ms");
    let res = login(&app, "busy", None).await;
    assert_eq!(res.status(), Status::Ok);
    // The session began within a second after `before`: it ends by `before + 5`; a cookie set
    // just before that may be counted from a second earlier still.
    let end = before + secs(5);
    let mut refresh = refresh_cookie(&res).expect("refresh");
    let mut refreshed = 0;
    loop {
        until(OffsetDateTime::now_utc() + time::Duration::milliseconds(500)).await;
        let res = app.refresh(&refresh).await;
        if res.status() != Status::Ok {
            assert!(
                OffsetDateTime::now_utc() >= before + secs(4),
                "not before its end"
            );
            refused_and_cleared(&res);
            break;
        }
        let now = OffsetDateTime::now_utc();
        let age = max_age(&res, "refresh").expect("remembered");
        let jwt_age = max_age(&res, "jwt").expect("remembered");
        assert!(
            now + secs(jwt_age) <= end + secs(1),
            "the jwt cookie: {jwt_age} s"
        );
        assert!(
            now + secs(age) <= end + secs(1),
            "the refresh cookie outlives the session by {age} s"
        );
        refresh = refresh_cookie(&res).expect("rotated");
        let exp = expires_at(res).await;
        assert!(
            exp <= end,
            "a refreshed token's exp {exp} is past the session's end {end}"
        );
        refreshed += 1;
        assert!(now < end + secs(2), "still refreshed after the end");
    }
    assert!(refreshed >= 4, "it was active: {refreshed} refreshes");
}

#[rocket::async_test]
async fn a_login_not_remembered_gets_cookies_that_end_with_the_browser_and_the_short_lifetime() {
    let app = TestApp::spawn_with(short(0, 3600, 3)).await;
    // Remembered by default, and when asked.
    for remember in [None, Some(true)] {
        let res = login(&app, "kept", remember).await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(max_age(&res, "jwt"), Some(1));
        assert!(
            max_age(&res, "refresh").is_some_and(|a| a > 3000),
            "{remember:?}"
        );
    }
    let before = OffsetDateTime::now_utc()
        .replace_millisecond(0)
        .expect("ms");
    let res = login(&app, "shared-pc", Some(false)).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(max_age(&res, "jwt"), None, "a browser-session cookie");
    assert_eq!(max_age(&res, "refresh"), None, "a browser-session cookie");
    let refresh = refresh_cookie(&res).expect("refresh");
    // Its rotations stay unremembered, and within the short lifetime.
    let res = app.refresh(&refresh).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(max_age(&res, "jwt"), None);
    assert_eq!(max_age(&res, "refresh"), None);
    let refresh = refresh_cookie(&res).expect("rotated");
    assert!(expires_at(res).await <= before + secs(4));
    until(before + secs(5)).await;
    refused_and_cleared(&app.refresh(&refresh).await);
}

#[rocket::async_test]
async fn remember_must_be_a_boolean() {
    let app = TestApp::spawn().await;
    let _ = app.sign_up("typed", "typed-password").await;
    let res = app
        .post_json(
            "/authenticate",
            json!({ "username": "typed", "password": "typed-password", "remember": "no" }),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn the_purge_ends_expired_sessions_with_a_session_expired_event() {
    let app = TestApp::spawn_with(short(2, 0, 0)).await;
    let res = login(&app, "gone", None).await;
    assert_eq!(res.status(), Status::Ok);
    let sid = {
        let token = crate::helpers::jwt_cookie(&res).expect("jwt");
        crate::helpers::claims_of(&token)["sid"]
            .as_str()
            .expect("sid")
            .to_owned()
    };
    let ended_by = OffsetDateTime::now_utc() + secs(2);
    let live = login(&app, "kept-alive", None).await;
    assert_eq!(live.status(), Status::Ok);
    let mut live_refresh = refresh_cookie(&live).expect("refresh");
    // Refreshed every half second, this one stays alive while the other goes past its end.
    while OffsetDateTime::now_utc() < ended_by + time::Duration::milliseconds(200) {
        until(OffsetDateTime::now_utc() + time::Duration::milliseconds(500)).await;
        let live = app.refresh(&live_refresh).await;
        assert_eq!(live.status(), Status::Ok);
        live_refresh = refresh_cookie(&live).expect("rotated");
    }
    let admin = app.admin_token().await;
    let res = app.purge(&admin).await;
    assert_eq!(res.status(), Status::Ok);
    let expired = |query: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let res = app.authed(Method::Get, query, &admin).await;
            assert_eq!(res.status(), Status::Ok);
            let page = json_body(res).await;
            page["items"].as_array().expect("items").clone()
        }
    };
    let events = expired("/audit?kind=session.expired").await;
    assert!(
        events.iter().any(|e| e["session_id"] == json!(sid)
            && e["username"] == json!("gone")
            && e["actor"] == json!("system")),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| e["username"] != json!("kept-alive")),
        "a session refreshed in time did not expire: {events:?}"
    );
    // A second purge finds nothing more to end: one event per session.
    assert_eq!(app.purge(&admin).await.status(), Status::Ok);
    let again = expired("/audit?kind=session.expired").await;
    assert_eq!(
        again
            .iter()
            .filter(|e| e["session_id"] == json!(sid))
            .count(),
        1
    );
}

#[rocket::async_test]
async fn a_second_step_keeps_the_choice_made_at_the_password_step() {
    use crate::mfa::{enrol, second_step};
    let app = TestApp::spawn().await;
    let enrolled = enrol(&app, "two-step").await;
    for remember in [false, true] {
        let res = app
            .post_json(
                "/authenticate",
                json!({ "username": "two-step", "password": "two-step-password", "remember": remember }),
            )
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
        let mfa = res.cookies().get("mfa").expect("mfa").value().to_owned();
        let code = &enrolled.recovery[usize::from(remember)];
        let res = second_step(&app, &mfa, json!({ "recovery_code": code })).await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(max_age(&res, "jwt").is_some(), remember);
        assert_eq!(max_age(&res, "refresh").is_some(), remember);
    }
}

#[rocket::async_test]
async fn a_session_older_than_a_lifetime_lowered_since_is_refused_at_its_next_refresh() {
    use diesel::{ExpressionMethods, RunQueryDsl};
    use jwt_blacklist::db::schema::sessions;
    let app = TestApp::spawn().await;
    let res = login(&app, "old-timer", None).await;
    assert_eq!(res.status(), Status::Ok);
    let refresh = refresh_cookie(&res).expect("refresh");
    // Begun 31 days ago, as a session from before the limit (or before it was lowered) would be.
    let long_ago =
        jwt_blacklist::db::to_db_time(OffsetDateTime::now_utc() - time::Duration::days(31));
    app.pool()
        .run(move |conn| {
            diesel::update(sessions::table)
                .set(sessions::created_at.eq(long_ago))
                .execute(conn)
        })
        .await
        .expect("backdate the session");
    refused_and_cleared(&app.refresh(&refresh).await);
}

#[rocket::async_test]
async fn a_passwordless_passkey_login_can_ask_not_to_be_remembered() {
    use crate::passkeys::{register, start_login};
    let app = TestApp::spawn().await;
    let mut ada = register(&app, "ada").await;
    for remember in [false, true] {
        let assertion = ada.key.assert(&start_login(&app).await);
        let res = app
            .post_json(
                "/authenticate/passkey/finish",
                json!({ "credential": assertion, "remember": remember }),
            )
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(max_age(&res, "jwt").is_some(), remember);
        assert_eq!(max_age(&res, "refresh").is_some(), remember);
    }
}

#[rocket::async_test]
async fn a_password_change_keeps_an_unremembered_session_unremembered() {
    let app = TestApp::spawn().await;
    let res = login(&app, "kiosk", Some(false)).await;
    assert_eq!(res.status(), Status::Ok);
    let jwt = crate::helpers::jwt_cookie(&res).expect("jwt");
    let res = app
        .with_cookie(app.client.post("/api/password"), &jwt)
        .header(rocket::http::ContentType::JSON)
        .body(
            json!({"current_password": "kiosk-password", "new_password": "a-new-password"})
                .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        max_age(&res, "jwt"),
        None,
        "the new token's cookie ends with the browser"
    );
}

#[rocket::async_test]
async fn a_second_tab_within_the_grace_gets_no_longer_a_cookie_than_the_token_it_shares() {
    let app = TestApp::spawn_with(short(3600, 0, 0)).await;
    let res = login(&app, "two-tabs", None).await;
    assert_eq!(res.status(), Status::Ok);
    let presented = refresh_cookie(&res).expect("refresh");
    let first = app.refresh(&presented).await;
    assert_eq!(first.status(), Status::Ok);
    let winner = max_age(&first, "refresh").expect("remembered");
    let successor = refresh_cookie(&first).expect("rotated");
    // The other tab presents the same token a second later, within the reuse grace.
    until(OffsetDateTime::now_utc() + secs(1) + time::Duration::milliseconds(100)).await;
    let second = app.refresh(&presented).await;
    assert_eq!(second.status(), Status::Ok);
    assert_eq!(refresh_cookie(&second).as_deref(), Some(successor.as_str()));
    let late = max_age(&second, "refresh").expect("remembered");
    assert!(
        late < winner,
        "the shared token lives {winner} s from the first answer, the second cookie says {late} s"
    );
}
