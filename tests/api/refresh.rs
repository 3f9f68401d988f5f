//! `POST /refresh`: the refresh cookie, rotation, the grace window, reuse detection, and the race
//! with logout.

use diesel::prelude::*;
use jwt_blacklist::db::schema::{refresh_tokens, sessions};
use jwt_blacklist::db::to_db_time;
use rocket::futures::future::join_all;
use rocket::http::{Method, Status};
use rocket::serde::json::serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::blacklist::assert_clears_cookie;
use crate::helpers::{
    error_code, forge, json_body, jwt_cookie, refresh_cookie, set_cookies, TestApp,
};

fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rows of `refresh_tokens`: (hash, session id).
async fn refresh_rows(app: &TestApp) -> Vec<(String, String)> {
    app.pool()
        .run(|conn| {
            refresh_tokens::table
                .select((refresh_tokens::hash, refresh_tokens::session_id))
                .load(conn)
        })
        .await
        .expect("query")
}

async fn session_ids(app: &TestApp, jwt: &str) -> Vec<String> {
    let res = app.authed(Method::Get, "/api/sessions", jwt).await;
    assert_eq!(res.status(), Status::Ok);
    json_body(res).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[rocket::async_test]
async fn login_sets_an_opaque_refresh_cookie_sent_only_to_refresh_and_stored_only_as_a_hash() {
    let app = TestApp::spawn().await;
    let _ = app.sign_up("alice", "alice-password").await;
    let res = app.login("alice", "alice-password").await;
    let cookies = set_cookies(&res);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("refresh="))
        .expect("a refresh cookie");
    let attrs: Vec<&str> = cookie.split("; ").collect();
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/refresh",
        // refresh_ttl (14 days) capped by session_idle_timeout (7 days).
        "Max-Age=604800",
    ] {
        assert!(attrs.contains(&attr), "{attr} missing from {cookie}");
    }
    assert!(!attrs.contains(&"Secure"), "debug profile: {cookie}");
    let token = refresh_cookie(&res).expect("value");
    // 256 random bits in base64url, not a JWT.
    assert_eq!(token.len(), 43, "{token}");
    assert!(!token.contains('.'));
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let rows = refresh_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, sha256_hex(&token), "stored as its SHA-256");
    assert!(rows.iter().all(|(hash, _)| !hash.contains(&token)));
}

#[rocket::async_test]
async fn the_refresh_ttl_is_configurable() {
    let app = TestApp::spawn_with(|f| f.merge(("refresh_ttl", 7200))).await;
    let _ = app.sign_up("alice", "alice-password").await;
    let res = app.login("alice", "alice-password").await;
    let cookies = set_cookies(&res);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("refresh="))
        .expect("refresh");
    assert!(cookie.split("; ").any(|a| a == "Max-Age=7200"), "{cookie}");
}

#[rocket::async_test]
async fn refresh_rotates_both_cookies_within_the_same_session() {
    let app = TestApp::spawn().await;
    let (jwt, refresh) = app.user_session("alice").await;
    let sessions_before = session_ids(&app, &jwt).await;
    let res = app.refresh(&refresh).await;
    assert_eq!(res.status(), Status::Ok);
    let new_jwt = jwt_cookie(&res).expect("a new jwt cookie");
    let successor = refresh_cookie(&res).expect("a new refresh cookie");
    assert_ne!(new_jwt, jwt);
    assert_ne!(successor, refresh);
    let body = json_body(res).await;
    assert_eq!(body["username"], "alice");
    assert_eq!(body["role"], "user");
    assert!(body["expires_at"].is_string());
    assert_eq!(app.me(&new_jwt).await.status(), Status::Ok);
    assert_eq!(
        session_ids(&app, &new_jwt).await,
        sessions_before,
        "still one session, the same"
    );
    // The successor rotates in turn.
    let again = app.refresh(&successor).await;
    assert_eq!(again.status(), Status::Ok);
    assert_ne!(refresh_cookie(&again).expect("next"), successor);
}

#[rocket::async_test]
async fn fifty_concurrent_refreshes_with_one_token_produce_exactly_one_successor() {
    let app = TestApp::spawn().await;
    let (_, refresh) = app.user_session("alice").await;
    let responses = join_all((0..50).map(|_| app.refresh(&refresh))).await;
    let mut successors = Vec::new();
    for res in &responses {
        assert_eq!(
            res.status(),
            Status::Ok,
            "every caller is inside the grace window"
        );
        successors.push(refresh_cookie(res).expect("a successor"));
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "one successor for every caller");
    let rows = refresh_rows(&app).await;
    assert_eq!(rows.len(), 2, "the original and one successor: {rows:?}");
    assert!(rows.iter().any(|(h, _)| *h == sha256_hex(&successors[0])));
    assert_eq!(app.refresh(&successors[0]).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_second_tab_within_the_grace_window_gets_the_same_successor_not_a_logout() {
    let app = TestApp::spawn().await;
    let (_, refresh) = app.user_session("alice").await;
    let first = app.refresh(&refresh).await;
    assert_eq!(first.status(), Status::Ok);
    let first_successor = refresh_cookie(&first).expect("successor");
    let first_jwt = jwt_cookie(&first).expect("jwt");
    let second = app.refresh(&refresh).await;
    assert_eq!(
        second.status(),
        Status::Ok,
        "the other tab is not logged out"
    );
    assert_eq!(refresh_cookie(&second).expect("successor"), first_successor);
    let second_jwt = jwt_cookie(&second).expect("jwt");
    assert_eq!(app.me(&first_jwt).await.status(), Status::Ok);
    assert_eq!(app.me(&second_jwt).await.status(), Status::Ok);
    assert_eq!(refresh_rows(&app).await.len(), 2, "no fork");
}

#[rocket::async_test]
async fn reuse_after_the_grace_window_ends_the_session_for_thief_and_user() {
    // A grace of 0: any second presentation comes after the window.
    let app = TestApp::spawn_with(|f| f.merge(("refresh_reuse_grace", 0))).await;
    let (user_jwt, stolen) = app.user_session("alice").await;
    let (other_jwt, _) = app.user_session("alice").await;
    let thief = app.refresh(&stolen).await;
    assert_eq!(thief.status(), Status::Ok);
    let thief_jwt = jwt_cookie(&thief).expect("jwt");
    let thief_refresh = refresh_cookie(&thief).expect("refresh");
    let user = app.refresh(&stolen).await;
    assert_clears_cookie(&set_cookies(&user));
    assert_eq!(error_code(user, Status::Unauthorized).await, "unauthorized");
    // The whole session is dead: access tokens through `sid`, refresh tokens too.
    assert_eq!(app.me(&thief_jwt).await.status(), Status::Unauthorized);
    assert_eq!(app.me(&user_jwt).await.status(), Status::Unauthorized);
    assert_eq!(
        app.refresh(&thief_refresh).await.status(),
        Status::Unauthorized
    );
    // Alice's other session is not the stolen one and goes on.
    assert_eq!(app.me(&other_jwt).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn unknown_expired_or_missing_refresh_tokens_are_401_and_clear_both_cookies() {
    let app = TestApp::spawn().await;
    let (_, refresh) = app.user_session("alice").await;
    let expire_all = to_db_time(OffsetDateTime::now_utc() - time::Duration::seconds(1));
    app.pool()
        .run(move |conn| {
            diesel::update(refresh_tokens::table)
                .set(refresh_tokens::expires_at.eq(expire_all))
                .execute(conn)
        })
        .await
        .expect("expire");
    let unknown = "A".repeat(43);
    for presented in [refresh.as_str(), unknown.as_str(), "garbage", "a.b.c"] {
        let res = app.refresh(presented).await;
        assert_clears_cookie(&set_cookies(&res));
        assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    }
    let none = app.client.post("/refresh").dispatch().await;
    assert_clears_cookie(&set_cookies(&none));
    assert_eq!(error_code(none, Status::Unauthorized).await, "unauthorized");
}

#[rocket::async_test]
async fn logout_ends_the_session_so_neither_its_refresh_token_nor_an_older_jwt_works() {
    let app = TestApp::spawn().await;
    let (jwt, refresh) = app.user_session("alice").await;
    let refreshed = app.refresh(&refresh).await;
    let refreshed_jwt = jwt_cookie(&refreshed).expect("jwt");
    let successor = refresh_cookie(&refreshed).expect("refresh");
    let res = app.logout(Some(&refreshed_jwt)).await;
    assert_eq!(res.status(), Status::Ok);
    assert_clears_cookie(&set_cookies(&res));
    assert_eq!(app.refresh(&successor).await.status(), Status::Unauthorized);
    assert_eq!(app.refresh(&refresh).await.status(), Status::Unauthorized);
    assert_eq!(
        app.me(&jwt).await.status(),
        Status::Unauthorized,
        "another access token of the logged-out session"
    );
}

/// The session's access token `jwt`, re-signed as expired long ago (same id, session, iat).
fn expired_copy(jwt: &str, iat_shift: i64) -> String {
    let payload = jwt.split('.').nth(1).expect("payload");
    let bytes = base64_url(payload);
    let mut claims: serde_json::Value = serde_json::from_slice(&bytes).expect("claims");
    let iat = claims["iat"].as_i64().expect("iat") + iat_shift;
    claims["iat"] = json!(iat);
    claims["exp"] = json!(OffsetDateTime::now_utc().unix_timestamp() - 3600);
    forge(&claims)
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

#[rocket::async_test]
async fn logout_with_the_sessions_latest_access_token_ends_it_even_when_expired() {
    let app = TestApp::spawn().await;
    let (jwt, refresh) = app.user_session("alice").await;
    let res = app.logout(Some(&expired_copy(&jwt, 0))).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(json_body(res).await["logged_out"], true);
    assert_eq!(app.refresh(&refresh).await.status(), Status::Unauthorized);
    assert_eq!(app.me(&jwt).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn an_older_access_token_cannot_end_a_session_refreshed_since() {
    let app = TestApp::spawn().await;
    let (jwt, refresh) = app.user_session("alice").await;
    // A token of this session from long before its latest refresh (weeks-old, expired).
    let weeks_old = expired_copy(&jwt, -14 * 24 * 3600);
    let res = app.logout(Some(&weeks_old)).await;
    assert_eq!(res.status(), Status::Ok);
    assert_clears_cookie(&set_cookies(&res));
    assert_eq!(json_body(res).await["logged_out"], false);
    assert_eq!(
        app.me(&jwt).await.status(),
        Status::Ok,
        "the session goes on"
    );
    let refreshed = app.refresh(&refresh).await;
    assert_eq!(refreshed.status(), Status::Ok);
    // Once refreshed past the grace, even the login's own token is an older one.
    let latest = jwt_cookie(&refreshed).expect("jwt");
    let before_refresh = expired_copy(&jwt, -10);
    let res = app.logout(Some(&before_refresh)).await;
    assert_eq!(json_body(res).await["logged_out"], false);
    assert_eq!(app.me(&latest).await.status(), Status::Ok);
    let res = app.logout(Some(&latest)).await;
    assert_eq!(json_body(res).await["logged_out"], true);
    assert_eq!(app.me(&latest).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_refresh_racing_a_logout_loses_once_the_logout_has_committed() {
    let app = TestApp::spawn().await;
    let (jwt, refresh) = app.user_session("alice").await;
    let refreshes = join_all((0..20).map(|_| app.refresh(&refresh)));
    let (refreshed, logout) = rocket::tokio::join!(refreshes, app.logout(Some(&jwt)));
    assert_eq!(logout.status(), Status::Ok);
    // Whatever a racing refresh obtained before the logout committed is dead now.
    for res in &refreshed {
        if res.status() == Status::Ok {
            let token = jwt_cookie(res).expect("jwt");
            assert_eq!(app.me(&token).await.status(), Status::Unauthorized);
            let successor = refresh_cookie(res).expect("refresh");
            assert_eq!(app.refresh(&successor).await.status(), Status::Unauthorized);
        } else {
            assert_eq!(res.status(), Status::Unauthorized);
        }
    }
    // And no refresh of that session succeeds after it.
    assert_eq!(app.refresh(&refresh).await.status(), Status::Unauthorized);
    let live: i64 = app
        .pool()
        .run(|conn| {
            sessions::table
                .filter(sessions::ended_at.is_null())
                .count()
                .get_result(conn)
        })
        .await
        .expect("count");
    assert_eq!(live, 0);
}

#[rocket::async_test]
async fn a_refreshed_token_carries_the_role_the_user_has_now() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, refresh) = app.user_session("alice").await;
    // Behind the server's back (an operator's UPDATE): no session is ended by this.
    app.pool()
        .run(|conn| {
            diesel::sql_query("UPDATE users SET role = 'admin' WHERE username = 'alice'")
                .execute(conn)
        })
        .await
        .expect("promote");
    let res = app.refresh(&refresh).await;
    assert_eq!(res.status(), Status::Ok);
    let jwt = jwt_cookie(&res).expect("jwt");
    assert_eq!(json_body(res).await["role"], "admin");
    assert_eq!(app.blacklist(&jwt, "/blacklist").await.status(), Status::Ok);
    assert_eq!(app.me(&admin).await.status(), Status::Ok);
}
