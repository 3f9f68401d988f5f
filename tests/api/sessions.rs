//! Session lists, ending sessions, password changes and admin changes to accounts.

use diesel::prelude::*;
use jwt_blacklist::db::schema::{refresh_tokens, sessions};
use jwt_blacklist::db::to_db_time;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::serde_json::json;
use rocket::serde::json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::blacklist::assert_clears_cookie;
use crate::helpers::{
    error_code, json_body, jwt_cookie, refresh_cookie, set_cookies, TestApp, ADMIN, ADMIN_PASSWORD,
};

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// One login's tokens.
struct Login {
    jwt: String,
    refresh: String,
}

/// Logs `username` in with `password`, sending `user_agent`; the login must succeed.
async fn login_with_agent(app: &TestApp, username: &str, password: &str, agent: &str) -> Login {
    let res = app
        .post_json(
            "/authenticate",
            json!({ "username": username, "password": password }),
        )
        .header(Header::new("User-Agent", agent.to_owned()))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok, "login of {username}");
    Login {
        jwt: jwt_cookie(&res).expect("login sets the jwt cookie"),
        refresh: refresh_cookie(&res).expect("login sets the refresh cookie"),
    }
}

/// Signs up (if needed) and logs in as `username` with the password `<username>-password`.
async fn session(app: &TestApp, username: &str) -> Login {
    let (jwt, refresh) = app.user_session(username).await;
    Login { jwt, refresh }
}

/// `GET /api/sessions` with `token`; must succeed; returns the items.
async fn my_sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app.authed(Method::Get, "/api/sessions", token).await;
    assert_eq!(res.status(), Status::Ok);
    let body = json_body(res).await;
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only items: {body}"
    );
    body["items"].as_array().expect("items").clone()
}

/// The id of the session marked current in the caller's own list.
async fn current_session_id(app: &TestApp, token: &str) -> String {
    let items = my_sessions(app, token).await;
    let current: Vec<&Value> = items.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {items:?}");
    current[0]["id"].as_str().expect("id").to_owned()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn end_my_session<'a>(app: &'a TestApp, token: &str, id: &str) -> LocalResponse<'a> {
    app.authed(Method::Delete, &format!("/api/sessions/{id}"), token)
        .await
}

async fn admin_sessions_of<'a>(app: &'a TestApp, token: &str, uri: &str) -> LocalResponse<'a> {
    app.authed(Method::Get, uri, token).await
}

async fn admin_end_session<'a>(app: &'a TestApp, token: &str, id: &str) -> LocalResponse<'a> {
    app.authed(Method::Delete, &format!("/sessions/{id}"), token)
        .await
}

async fn logout_all<'a>(app: &'a TestApp, token: &str) -> LocalResponse<'a> {
    app.authed(Method::Post, "/blacklist/logout-all", token)
        .await
}

async fn change_password<'a>(
    app: &'a TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> LocalResponse<'a> {
    let req = app.post_json(
        "/api/password",
        json!({ "current_password": current, "new_password": new }),
    );
    app.with_cookie(req, token).dispatch().await
}

async fn set_role<'a>(
    app: &'a TestApp,
    token: &str,
    username: &str,
    body: Value,
) -> LocalResponse<'a> {
    let req = app
        .client
        .patch(format!("/api/users/{username}"))
        .header(ContentType::JSON)
        .body(body.to_string());
    app.with_cookie(req, token).dispatch().await
}

async fn remove_user<'a>(app: &'a TestApp, token: &str, username: &str) -> LocalResponse<'a> {
    app.authed(Method::Delete, &format!("/api/users/{username}"), token)
        .await
}

/// The session's access token is refused and its refresh token fails.
async fn assert_ended(app: &TestApp, login: &Login, what: &str) {
    assert_eq!(
        app.me(&login.jwt).await.status(),
        Status::Unauthorized,
        "{what}: the jwt is still accepted"
    );
    assert_eq!(
        app.refresh(&login.refresh).await.status(),
        Status::Unauthorized,
        "{what}: the refresh token still works"
    );
}

/// The session's access token is accepted and its refresh token rotates. Uses the refresh
/// token up: call it once per login.
async fn assert_alive(app: &TestApp, login: &Login, what: &str) {
    assert_eq!(
        app.me(&login.jwt).await.status(),
        Status::Ok,
        "{what}: the jwt is refused"
    );
    assert_eq!(
        app.refresh(&login.refresh).await.status(),
        Status::Ok,
        "{what}: the refresh token fails"
    );
}

/// How many `sessions` rows and `refresh_tokens` rows session `id` has.
async fn row_counts(app: &TestApp, id: String) -> (i64, i64) {
    app.pool()
        .run(move |conn| {
            let s: i64 = sessions::table
                .filter(sessions::id.eq(&id))
                .count()
                .get_result(conn)?;
            let r: i64 = refresh_tokens::table
                .filter(refresh_tokens::session_id.eq(&id))
                .count()
                .get_result(conn)?;
            Ok((s, r))
        })
        .await
        .expect("count rows")
}

fn is_utc_timestamp(v: &Value) -> bool {
    v.as_str().is_some_and(|t| {
        t.ends_with('Z')
            && OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok()
    })
}

// ---------------------------------------------------------------------------------------------
// GET /api/sessions
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn a_login_creates_one_session_listed_with_its_user_agent() {
    let app = TestApp::spawn().await;
    app.sign_up("alice", "alice-password").await;
    let login = login_with_agent(&app, "alice", "alice-password", "Agent/1.0 (test)").await;
    let items = my_sessions(&app, &login.jwt).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    let keys: Vec<&str> = item
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "current",
            "device",
            "expires_at",
            "id",
            "ip",
            "last_used_at",
            "name",
            "user_agent"
        ]
    );
    assert!(Uuid::parse_str(item["id"].as_str().expect("id")).is_ok());
    assert_eq!(item["user_agent"], "Agent/1.0 (test)");
    assert_eq!(item["current"], true);
    for field in ["created_at", "last_used_at", "expires_at"] {
        assert!(is_utc_timestamp(&item[field]), "{field}: {item}");
    }
    let created = OffsetDateTime::parse(
        item["created_at"].as_str().expect("created_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    let expires = OffsetDateTime::parse(
        item["expires_at"].as_str().expect("expires_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    assert!(expires > created, "{item}");
}

#[rocket::async_test]
async fn three_logins_list_three_sessions_and_only_the_callers_is_current() {
    let app = TestApp::spawn().await;
    app.sign_up("alice", "alice-password").await;
    let mut logins = Vec::new();
    for agent in ["agent-one", "agent-two", "agent-three"] {
        logins.push(login_with_agent(&app, "alice", "alice-password", agent).await);
    }
    let items = my_sessions(&app, &logins[1].jwt).await;
    assert_eq!(items.len(), 3, "{items:?}");
    let current: Vec<&Value> = items.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(current.len(), 1, "{items:?}");
    assert_eq!(current[0]["user_agent"], "agent-two");
    assert!(items
        .iter()
        .all(|i| i["current"] == true || i["current"] == false));
    let mut agents: Vec<&str> = items
        .iter()
        .map(|i| i["user_agent"].as_str().expect("user_agent"))
        .collect();
    agents.sort_unstable();
    assert_eq!(agents, ["agent-one", "agent-three", "agent-two"]);
    let mut unique = ids(&items);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "distinct ids: {items:?}");

    // Each login sees the same three sessions, with its own marked current.
    let from_first = my_sessions(&app, &logins[0].jwt).await;
    let current: Vec<&Value> = from_first.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "agent-one");
}

#[rocket::async_test]
async fn another_users_sessions_are_not_listed() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let bob = session(&app, "bob").await;
    let _bob_again = session(&app, "bob").await;
    let bob_ids = ids(&my_sessions(&app, &bob.jwt).await);
    assert_eq!(bob_ids.len(), 2);
    let alice_items = my_sessions(&app, &alice.jwt).await;
    assert_eq!(alice_items.len(), 1, "{alice_items:?}");
    assert!(ids(&alice_items).iter().all(|id| !bob_ids.contains(id)));
}

#[rocket::async_test]
async fn listing_sessions_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let res = app.client.get("/api/sessions").dispatch().await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    let res = app.authed(Method::Get, "/api/sessions", "garbage").await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
}

// ---------------------------------------------------------------------------------------------
// DELETE /api/sessions/<id>
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn ending_one_session_refuses_its_tokens_and_spares_the_others() {
    let app = TestApp::spawn().await;
    let keep = session(&app, "alice").await;
    let doomed = session(&app, "alice").await;
    let doomed_id = current_session_id(&app, &doomed.jwt).await;
    let keep_id = current_session_id(&app, &keep.jwt).await;

    let res = end_my_session(&app, &keep.jwt, &doomed_id).await;
    assert_eq!(res.status(), Status::NoContent);
    // Ending another of one's sessions leaves the caller's cookies alone.
    assert!(set_cookies(&res).is_empty(), "{:?}", set_cookies(&res));
    drop(res);

    assert_ended(&app, &doomed, "the ended session").await;
    assert_eq!(ids(&my_sessions(&app, &keep.jwt).await), [keep_id]);
    assert_alive(&app, &keep, "the caller's session").await;

    // Ended already: a second attempt finds no live session.
    let again = end_my_session(&app, &keep.jwt, &doomed_id).await;
    assert_eq!(error_code(again, Status::NotFound).await, "not_found");
}

#[rocket::async_test]
async fn another_users_session_id_is_not_found_and_that_session_goes_on() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let bob = session(&app, "bob").await;
    let bob_id = current_session_id(&app, &bob.jwt).await;
    let res = end_my_session(&app, &alice.jwt, &bob_id).await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
    assert_eq!(my_sessions(&app, &bob.jwt).await.len(), 1);
    assert_alive(&app, &bob, "bob's session").await;
}

#[rocket::async_test]
async fn a_malformed_or_unknown_session_id_is_not_found() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    for id in [
        "not-a-uuid".to_owned(),
        "123".to_owned(),
        Uuid::new_v4().to_string(),
    ] {
        let res = end_my_session(&app, &alice.jwt, &id).await;
        assert_eq!(error_code(res, Status::NotFound).await, "not_found", "{id}");
    }
    assert_alive(&app, &alice, "alice's session").await;
}

#[rocket::async_test]
async fn ending_ones_current_session_clears_both_cookies() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let id = current_session_id(&app, &alice.jwt).await;
    let res = end_my_session(&app, &alice.jwt, &id).await;
    assert_eq!(res.status(), Status::NoContent);
    assert_clears_cookie(&set_cookies(&res));
    drop(res);
    assert_ended(&app, &alice, "the current session").await;
}

// ---------------------------------------------------------------------------------------------
// POST /blacklist/logout-all
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn logout_all_ends_three_sessions_and_a_new_login_works() {
    let app = TestApp::spawn().await;
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(session(&app, "alice").await);
    }
    let bob = session(&app, "bob").await;

    let res = logout_all(&app, &logins[0].jwt).await;
    assert_eq!(res.status(), Status::Ok);
    assert_clears_cookie(&set_cookies(&res));
    assert_eq!(
        json_body(res).await,
        json!({ "logged_out": true, "sessions_ended": 3 })
    );

    for (i, login) in logins.iter().enumerate() {
        assert_ended(&app, login, &format!("alice's session {i}")).await;
    }
    assert_alive(&app, &bob, "bob's session").await;

    // The cut-off refuses tokens issued before it, not after.
    let fresh = session(&app, "alice").await;
    assert_eq!(app.me(&fresh.jwt).await.status(), Status::Ok);
    assert_eq!(my_sessions(&app, &fresh.jwt).await.len(), 1);
    assert_alive(&app, &fresh, "alice's new session").await;
}

#[rocket::async_test]
async fn logout_all_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let res = app.client.post("/blacklist/logout-all").dispatch().await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    assert_alive(&app, &alice, "alice's session").await;
}

// ---------------------------------------------------------------------------------------------
// POST /api/password
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn a_wrong_current_password_is_invalid_credentials_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let res = change_password(&app, &alice.jwt, "not-my-password", "brand-new-password").await;
    assert_eq!(
        error_code(res, Status::Unauthorized).await,
        "invalid_credentials"
    );
    assert_eq!(app.me(&alice.jwt).await.status(), Status::Ok);
    assert_eq!(
        app.login("alice", "brand-new-password").await.status(),
        Status::Unauthorized
    );
    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_too_short_new_password_is_unprocessable_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let res = change_password(&app, &alice.jwt, "alice-password", "short").await;
    assert_eq!(
        error_code(res, Status::UnprocessableEntity).await,
        "unprocessable_entity"
    );
    assert_eq!(app.me(&alice.jwt).await.status(), Status::Ok);
    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn the_password_change_is_throttled_after_five_wrong_attempts() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    for i in 0..5 {
        let res = change_password(&app, &alice.jwt, "wrong-password", "brand-new-password").await;
        assert_eq!(
            error_code(res, Status::Unauthorized).await,
            "invalid_credentials",
            "attempt {i}"
        );
    }
    // Even the right password is refused while throttled.
    let res = change_password(&app, &alice.jwt, "alice-password", "brand-new-password").await;
    assert!(res.headers().get_one("Retry-After").is_some());
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
}

#[rocket::async_test]
async fn a_password_change_keeps_the_callers_session_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let caller = session(&app, "alice").await;
    let other = session(&app, "alice").await;
    let bob = session(&app, "bob").await;

    let res = change_password(&app, &caller.jwt, "alice-password", "brand-new-password").await;
    assert_eq!(res.status(), Status::Ok);
    let new_jwt = jwt_cookie(&res).expect("the response sets a new jwt cookie");
    assert!(!new_jwt.is_empty());
    assert_ne!(new_jwt, caller.jwt);
    assert_eq!(
        json_body(res).await,
        json!({ "password_changed": true, "other_sessions_ended": 1 })
    );

    // The caller goes on with the new cookie; the old one is refused, its refresh token lives.
    assert_eq!(app.me(&new_jwt).await.status(), Status::Ok);
    assert_eq!(
        app.me(&caller.jwt).await.status(),
        Status::Unauthorized,
        "the caller's old jwt is still accepted"
    );
    let refreshed = app.refresh(&caller.refresh).await;
    assert_eq!(refreshed.status(), Status::Ok, "the caller's session ended");
    let refreshed_jwt = jwt_cookie(&refreshed).expect("refresh sets the jwt cookie");
    drop(refreshed);
    assert_eq!(app.me(&refreshed_jwt).await.status(), Status::Ok);
    assert_eq!(my_sessions(&app, &new_jwt).await.len(), 1);

    // Every other session of alice ended; bob is untouched.
    assert_ended(&app, &other, "alice's other session").await;
    assert_alive(&app, &bob, "bob's session").await;

    assert_eq!(
        app.login("alice", "alice-password").await.status(),
        Status::Unauthorized
    );
    assert_eq!(
        app.login("alice", "brand-new-password").await.status(),
        Status::Ok
    );
}

// ---------------------------------------------------------------------------------------------
// Admin: GET /sessions?username=<u>, DELETE /sessions/<id>
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn admins_list_a_users_live_sessions() {
    let app = TestApp::spawn().await;
    app.sign_up("alice", "alice-password").await;
    let first = login_with_agent(&app, "alice", "alice-password", "agent-a").await;
    let _second = login_with_agent(&app, "alice", "alice-password", "agent-b").await;
    let _bob = session(&app, "bob").await;
    let admin = app.admin_token().await;

    let res = admin_sessions_of(&app, &admin, "/sessions?username=alice").await;
    assert_eq!(res.status(), Status::Ok);
    let body = json_body(res).await;
    assert_eq!(body["username"], "alice", "{body}");
    assert_eq!(body["role"], "user", "{body}");
    let items = body["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 2, "{body}");
    let mut own = ids(&my_sessions(&app, &first.jwt).await);
    own.sort();
    let mut listed = ids(&items);
    listed.sort();
    assert_eq!(listed, own, "the admin sees exactly alice's sessions");
    let mut agents: Vec<&str> = items
        .iter()
        .map(|i| i["user_agent"].as_str().expect("user_agent"))
        .collect();
    agents.sort_unstable();
    assert_eq!(agents, ["agent-a", "agent-b"]);
    for item in &items {
        assert_eq!(item["current"], false, "not the admin's session: {item}");
        assert_eq!(item.as_object().map(|o| o.len()), Some(9), "{item}");
        for field in ["created_at", "last_used_at", "expires_at"] {
            assert!(is_utc_timestamp(&item[field]), "{field}: {item}");
        }
    }

    // An ended session drops out of the list.
    app.logout(Some(&first.jwt)).await;
    let body = json_body(admin_sessions_of(&app, &admin, "/sessions?username=alice").await).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");
}

#[rocket::async_test]
async fn the_admin_session_list_needs_a_known_username_and_the_admin_role() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let admin = app.admin_token().await;
    for uri in ["/sessions", "/sessions?username="] {
        let res = admin_sessions_of(&app, &admin, uri).await;
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity",
            "{uri}"
        );
    }
    let res = admin_sessions_of(&app, &admin, "/sessions?username=nobody").await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
    let res = admin_sessions_of(&app, &alice.jwt, "/sessions?username=alice").await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    let res = admin_sessions_of(&app, "garbage", "/sessions?username=alice").await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
}

#[rocket::async_test]
async fn an_admin_ends_any_users_session() {
    let app = TestApp::spawn().await;
    let doomed = session(&app, "alice").await;
    let spared = session(&app, "alice").await;
    let doomed_id = current_session_id(&app, &doomed.jwt).await;
    let admin = app.admin_token().await;

    let res = admin_end_session(&app, &admin, &doomed_id).await;
    assert_eq!(res.status(), Status::NoContent);
    // Not the admin's own session: the admin's cookies stay.
    assert!(set_cookies(&res).is_empty(), "{:?}", set_cookies(&res));
    drop(res);
    assert_ended(&app, &doomed, "the ended session").await;
    assert_alive(&app, &spared, "alice's other session").await;
    assert_eq!(
        app.blacklist(&admin, "/blacklist").await.status(),
        Status::Ok
    );

    let again = admin_end_session(&app, &admin, &doomed_id).await;
    assert_eq!(error_code(again, Status::NotFound).await, "not_found");
}

#[rocket::async_test]
async fn admin_session_ending_refuses_unknown_ids_and_non_admins() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let bob = session(&app, "bob").await;
    let bob_id = current_session_id(&app, &bob.jwt).await;
    let admin = app.admin_token().await;
    for id in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let res = admin_end_session(&app, &admin, &id).await;
        assert_eq!(error_code(res, Status::NotFound).await, "not_found", "{id}");
    }
    let res = admin_end_session(&app, &alice.jwt, &bob_id).await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    assert_alive(&app, &bob, "bob's session").await;
}

// ---------------------------------------------------------------------------------------------
// PATCH /api/users/<username>
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn promoting_a_user_ends_their_sessions_and_their_next_login_is_admin() {
    let app = TestApp::spawn().await;
    let old = session(&app, "alice").await;
    let old_two = session(&app, "alice").await;
    let admin = app.admin_token().await;
    assert_eq!(
        app.blacklist(&old.jwt, "/blacklist").await.status(),
        Status::Forbidden
    );

    let res = set_role(&app, &admin, "alice", json!({ "role": "admin" })).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        json_body(res).await,
        json!({ "username": "alice", "role": "admin", "sessions_ended": 2 })
    );

    assert_eq!(
        app.blacklist(&old.jwt, "/blacklist").await.status(),
        Status::Unauthorized
    );
    assert_ended(&app, &old, "alice's first session").await;
    assert_ended(&app, &old_two, "alice's second session").await;

    let promoted = session(&app, "alice").await;
    let me = json_body(app.me(&promoted.jwt).await).await;
    assert_eq!(me["role"], "admin");
    assert_eq!(
        app.blacklist(&promoted.jwt, "/blacklist").await.status(),
        Status::Ok
    );
    // The admin who did it is unaffected.
    assert_eq!(app.me(&admin).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn demoting_an_admin_refuses_their_admin_token_on_the_next_request() {
    let app = TestApp::spawn().await;
    let _ = session(&app, "alice").await;
    let admin = app.admin_token().await;
    let res = set_role(&app, &admin, "alice", json!({ "role": "admin" })).await;
    assert_eq!(res.status(), Status::Ok);
    drop(res);
    let alice = session(&app, "alice").await;
    assert_eq!(
        app.blacklist(&alice.jwt, "/blacklist").await.status(),
        Status::Ok
    );

    let res = set_role(&app, &admin, "alice", json!({ "role": "user" })).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        json_body(res).await,
        json!({ "username": "alice", "role": "user", "sessions_ended": 1 })
    );
    let res = app.blacklist(&alice.jwt, "/blacklist").await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    assert_ended(&app, &alice, "alice's admin session").await;

    let demoted = session(&app, "alice").await;
    assert_eq!(json_body(app.me(&demoted.jwt).await).await["role"], "user");
    assert_eq!(
        app.blacklist(&demoted.jwt, "/blacklist").await.status(),
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn the_last_admin_cannot_be_demoted_or_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = set_role(&app, &admin, ADMIN, json!({ "role": "user" })).await;
    assert_eq!(error_code(res, Status::Conflict).await, "conflict");
    let res = remove_user(&app, &admin, ADMIN).await;
    assert_eq!(error_code(res, Status::Conflict).await, "conflict");
    // Nothing happened: the admin's token and role still work, and so does the password.
    assert_eq!(
        app.blacklist(&admin, "/blacklist").await.status(),
        Status::Ok
    );
    assert_eq!(json_body(app.me(&admin).await).await["role"], "admin");
    assert_eq!(app.login(ADMIN, ADMIN_PASSWORD).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn an_admin_may_demote_itself_once_another_admin_exists() {
    let app = TestApp::spawn().await;
    let _ = session(&app, "alice").await;
    let admin = app.admin_token().await;
    assert_eq!(
        set_role(&app, &admin, "alice", json!({ "role": "admin" }))
            .await
            .status(),
        Status::Ok
    );
    let res = set_role(&app, &admin, ADMIN, json!({ "role": "user" })).await;
    assert_eq!(res.status(), Status::Ok);
    drop(res);
    // Its own sessions ended with the change.
    assert_eq!(app.me(&admin).await.status(), Status::Unauthorized);
    // Now alice is the last admin.
    let alice = session(&app, "alice").await;
    let res = set_role(&app, &alice.jwt, "alice", json!({ "role": "user" })).await;
    assert_eq!(error_code(res, Status::Conflict).await, "conflict");
    assert_eq!(
        app.blacklist(&alice.jwt, "/blacklist").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_role_change_refuses_unknown_users_bad_roles_and_non_admins() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let bob = session(&app, "bob").await;
    let admin = app.admin_token().await;

    let res = set_role(&app, &admin, "nobody", json!({ "role": "admin" })).await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");

    for bad in [json!({ "role": "root" }), json!({})] {
        let res = set_role(&app, &admin, "alice", bad.clone()).await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{bad}");
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity",
            "{bad}"
        );
    }

    let res = set_role(&app, &alice.jwt, "alice", json!({ "role": "admin" })).await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");

    // None of that touched anyone.
    assert_eq!(json_body(app.me(&alice.jwt).await).await["role"], "user");
    assert_alive(&app, &alice, "alice's session").await;
    assert_alive(&app, &bob, "bob's session").await;
}

// ---------------------------------------------------------------------------------------------
// DELETE /api/users/<username>
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn removing_a_user_ends_their_sessions_and_their_login() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let bob = session(&app, "bob").await;
    let admin = app.admin_token().await;

    let res = remove_user(&app, &admin, "alice").await;
    assert_eq!(res.status(), Status::NoContent);
    drop(res);
    assert_ended(&app, &alice, "the removed user's session").await;
    assert_eq!(
        error_code(
            app.login("alice", "alice-password").await,
            Status::Unauthorized
        )
        .await,
        "invalid_credentials"
    );
    assert_alive(&app, &bob, "bob's session").await;

    let res = remove_user(&app, &admin, "alice").await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
}

#[rocket::async_test]
async fn removing_a_user_refuses_unknown_users_and_non_admins() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let bob = session(&app, "bob").await;
    let admin = app.admin_token().await;
    let res = remove_user(&app, &admin, "nobody").await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
    let res = remove_user(&app, &alice.jwt, "bob").await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    assert_alive(&app, &bob, "bob's session").await;
    assert_eq!(app.login("bob", "bob-password").await.status(), Status::Ok);
}

// ---------------------------------------------------------------------------------------------
// POST /blacklist/purge
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn the_purge_deletes_dead_sessions_and_expired_refresh_tokens() {
    let app = TestApp::spawn().await;
    let alice = session(&app, "alice").await;
    let alice_id = current_session_id(&app, &alice.jwt).await;
    let bob = session(&app, "bob").await;
    let bob_id = current_session_id(&app, &bob.jwt).await;
    let admin = app.admin_token().await;

    let res = end_my_session(&app, &alice.jwt, &alice_id).await;
    assert_eq!(res.status(), Status::NoContent);
    drop(res);

    // Move alice's ended session and its refresh token into the past.
    let past = to_db_time(OffsetDateTime::now_utc() - time::Duration::hours(2));
    let id = alice_id.clone();
    app.pool()
        .run(move |conn| {
            diesel::update(sessions::table.filter(sessions::id.eq(&id)))
                .set((
                    sessions::access_until.eq(past),
                    sessions::expires_at.eq(past),
                ))
                .execute(conn)?;
            diesel::update(refresh_tokens::table.filter(refresh_tokens::session_id.eq(&id)))
                .set(refresh_tokens::expires_at.eq(past))
                .execute(conn)
        })
        .await
        .expect("move rows into the past");

    assert_eq!(row_counts(&app, alice_id.clone()).await, (1, 1));

    let res = app.purge(&admin).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(json_body(res).await, json!({ "purged": 2 }));

    assert_eq!(
        row_counts(&app, alice_id).await,
        (0, 0),
        "alice's dead session and token are gone"
    );
    assert_eq!(
        row_counts(&app, bob_id).await,
        (1, 1),
        "bob's live session is kept"
    );
    assert_alive(&app, &bob, "bob's session").await;
    assert_eq!(app.me(&admin).await.status(), Status::Ok);

    // Nothing left to purge.
    assert_eq!(
        json_body(app.purge(&admin).await).await,
        json!({ "purged": 0 })
    );
}

// ---------------------------------------------------------------------------------------------
// revocation_check = "database"
// ---------------------------------------------------------------------------------------------

async fn spawn_database_mode() -> TestApp {
    TestApp::spawn_with(|f| f.merge(("revocation_check", "database"))).await
}

#[rocket::async_test]
async fn in_database_mode_logout_all_is_enforced() {
    let app = spawn_database_mode().await;
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(session(&app, "alice").await);
    }
    let bob = session(&app, "bob").await;
    let res = logout_all(&app, &logins[2].jwt).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        json_body(res).await,
        json!({ "logged_out": true, "sessions_ended": 3 })
    );
    for (i, login) in logins.iter().enumerate() {
        assert_ended(&app, login, &format!("alice's session {i}")).await;
    }
    assert_alive(&app, &bob, "bob's session").await;
    let fresh = session(&app, "alice").await;
    assert_alive(&app, &fresh, "alice's new session").await;
}

#[rocket::async_test]
async fn in_database_mode_ending_one_session_is_enforced() {
    let app = spawn_database_mode().await;
    let keep = session(&app, "alice").await;
    let doomed = session(&app, "alice").await;
    let doomed_id = current_session_id(&app, &doomed.jwt).await;
    let res = end_my_session(&app, &keep.jwt, &doomed_id).await;
    assert_eq!(res.status(), Status::NoContent);
    drop(res);
    assert_ended(&app, &doomed, "the ended session").await;
    assert_alive(&app, &keep, "the caller's session").await;
}

#[rocket::async_test]
async fn in_database_mode_a_password_change_keeps_only_the_callers_session() {
    let app = spawn_database_mode().await;
    let caller = session(&app, "alice").await;
    let other = session(&app, "alice").await;
    let res = change_password(&app, &caller.jwt, "alice-password", "brand-new-password").await;
    assert_eq!(res.status(), Status::Ok);
    let new_jwt = jwt_cookie(&res).expect("a new jwt cookie");
    drop(res);
    assert_eq!(app.me(&new_jwt).await.status(), Status::Ok);
    assert_eq!(app.me(&caller.jwt).await.status(), Status::Unauthorized);
    assert_eq!(app.refresh(&caller.refresh).await.status(), Status::Ok);
    assert_ended(&app, &other, "alice's other session").await;
}
