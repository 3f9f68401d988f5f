//! The admins' console over accounts: `GET /api/users` (search, filters, paging),
//! `GET /api/users/<username>`, and locking: a lock ends every session at once, a locked
//! account's correct password is told `account_locked` while a wrong one stays
//! `invalid_credentials`, a lock with an end lifts by itself, and the last admin who can log in
//! cannot be locked.

use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::{serde_json::json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{
    error_code, eventually, json_body, jwt_cookie, refresh_cookie, TestApp, ADMIN, ADMIN_PASSWORD,
};

async fn get<'a>(app: &'a TestApp, token: &str, uri: &str) -> LocalResponse<'a> {
    app.authed(Method::Get, uri, token).await
}

pub(crate) async fn lock<'a>(
    app: &'a TestApp,
    token: &str,
    user: &str,
    body: Value,
) -> LocalResponse<'a> {
    let req = app.client.post(format!("/api/users/{user}/lock"));
    app.with_cookie(req, token)
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await
}

pub(crate) async fn unlock<'a>(app: &'a TestApp, token: &str, user: &str) -> LocalResponse<'a> {
    app.authed(Method::Post, &format!("/api/users/{user}/unlock"), token)
        .await
}

fn names(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["username"].as_str().expect("username"))
        .collect()
}

#[rocket::async_test]
async fn admins_list_accounts_by_name_with_search_filters_and_paging() {
    let app = TestApp::spawn().await;
    for name in ["carol", "Bob", "alice", "malcolm"] {
        let _ = app.user_token(name).await;
    }
    let _ = app.user_token("alice").await;
    let admin = app.admin_token().await;

    let all = json_body(get(&app, &admin, "/api/users").await).await;
    assert_eq!(names(&all), ["Bob", "admin", "alice", "carol", "malcolm"]);
    assert_eq!(all["total"], 5);
    let alice = &all["items"][2];
    let mut keys: Vec<&str> = alice
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "last_login_at",
            "live_sessions",
            "lock_reason",
            "locked",
            "locked_until",
            "mfa",
            "role",
            "username"
        ]
    );
    assert_eq!(alice["live_sessions"], 2, "two logins: {alice}");
    assert_eq!(alice["role"], "user");
    assert_eq!(alice["locked"], false);
    assert!(alice["last_login_at"].is_string(), "{alice}");

    // Case-insensitive substring; the pattern's own wildcards match themselves.
    let found = json_body(get(&app, &admin, "/api/users?q=AL").await).await;
    assert_eq!(names(&found), ["alice", "malcolm"]);
    let none = json_body(get(&app, &admin, "/api/users?q=a_i").await).await;
    assert_eq!(names(&none), Vec::<&str>::new());
    assert_eq!(none["total"], 0);
    let admins = json_body(get(&app, &admin, "/api/users?role=admin").await).await;
    assert_eq!(names(&admins), ["admin"]);

    let page = json_body(get(&app, &admin, "/api/users?limit=2&offset=1").await).await;
    assert_eq!(names(&page), ["admin", "alice"]);
    assert_eq!(
        page["total"], 5,
        "the total counts every match, not the page"
    );

    let one = get(&app, &admin, "/api/users/ALICE").await;
    assert_eq!(one.status(), Status::Ok);
    assert_eq!(json_body(one).await["username"], "alice");
    let missing = get(&app, &admin, "/api/users/nobody").await;
    assert_eq!(error_code(missing, Status::NotFound).await, "not_found");
}

#[rocket::async_test]
async fn a_bad_listing_parameter_is_a_422_and_only_admins_may_list() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for uri in [
        "/api/users?limit=0",
        "/api/users?limit=1001",
        "/api/users?limit=ten",
        "/api/users?offset=-1",
        "/api/users?role=root",
        "/api/users?status=banned",
        "/api/users?limit=5&limit=6",
    ] {
        let res = get(&app, &admin, uri).await;
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity",
            "{uri}"
        );
    }
    let ok = get(&app, &admin, "/api/users?limit=1000&status=active").await;
    assert_eq!(ok.status(), Status::Ok);
    let user = app.user_token("eve").await;
    assert_eq!(
        get(&app, &user, "/api/users").await.status(),
        Status::Forbidden
    );
    assert_eq!(
        get(&app, &user, "/api/users/admin").await.status(),
        Status::Forbidden
    );
    assert_eq!(
        app.client.get("/api/users").dispatch().await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_lock_ends_every_session_and_only_the_right_password_learns_of_it() {
    let app = TestApp::spawn().await;
    let (jwt, refresh) = app.user_session("mallory").await;
    let _second = app.user_token("mallory").await;
    let admin = app.admin_token().await;

    let res = lock(
        &app,
        &admin,
        "Mallory",
        json!({"reason": "phishing reports"}),
    )
    .await;
    assert_eq!(res.status(), Status::Ok);
    let body = json_body(res).await;
    assert_eq!(
        body,
        json!({"username": "mallory", "locked_until": null, "sessions_ended": 2})
    );
    assert_eq!(
        app.me(&jwt).await.status(),
        Status::Unauthorized,
        "the session ended at once"
    );
    assert_eq!(app.refresh(&refresh).await.status(), Status::Unauthorized);

    let right = app.login("mallory", "mallory-password").await;
    assert!(jwt_cookie(&right).is_none() && refresh_cookie(&right).is_none());
    let body = json_body_of(right, Status::Forbidden).await;
    assert_eq!(body["error"], "account_locked");
    assert!(body.get("until").is_none(), "locked until unlocked: {body}");
    let wrong = app.login("mallory", "not-the-password").await;
    assert_eq!(
        error_code(wrong, Status::Unauthorized).await,
        "invalid_credentials"
    );

    let listed = json_body(get(&app, &admin, "/api/users?status=locked").await).await;
    assert_eq!(names(&listed), ["mallory"]);
    assert_eq!(listed["items"][0]["lock_reason"], "phishing reports");
    assert_eq!(listed["items"][0]["live_sessions"], 0);

    let res = unlock(&app, &admin, "mallory").await;
    assert_eq!(
        json_body_of(res, Status::Ok).await,
        json!({"username": "mallory"})
    );
    assert_eq!(
        app.login("mallory", "mallory-password").await.status(),
        Status::Ok
    );
    let active = json_body(get(&app, &admin, "/api/users?status=active&q=mall").await).await;
    assert_eq!(names(&active), ["mallory"]);
}

async fn json_body_of(res: LocalResponse<'_>, status: Status) -> Value {
    assert_eq!(res.status(), status);
    json_body(res).await
}

#[rocket::async_test]
async fn a_lock_with_an_end_says_when_and_lifts_by_itself() {
    let app = TestApp::spawn().await;
    let _ = app.user_token("trent").await;
    let admin = app.admin_token().await;
    let until = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let text = until.format(&Rfc3339).expect("format");
    let res = lock(
        &app,
        &admin,
        "trent",
        json!({"reason": "cool off", "until": text}),
    )
    .await;
    let body = json_body_of(res, Status::Ok).await;
    let answered = OffsetDateTime::parse(body["locked_until"].as_str().expect("until"), &Rfc3339)
        .expect("RFC 3339");
    assert!(
        (answered - until).abs() < time::Duration::milliseconds(1),
        "{body}"
    );

    let res = app.login("trent", "trent-password").await;
    let refused = json_body_of(res, Status::Forbidden).await;
    assert_eq!(refused["error"], "account_locked");
    assert!(refused["until"].is_string(), "{refused}");
    let lifted = eventually(10, || async {
        app.login("trent", "trent-password").await.status() == Status::Ok
    })
    .await;
    assert!(lifted, "a lock whose end has passed lifts by itself");
}

#[rocket::async_test]
async fn a_bad_lock_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let jwt = app.user_token("oscar").await;
    let admin = app.admin_token().await;
    let past = (OffsetDateTime::now_utc() - time::Duration::minutes(1))
        .format(&Rfc3339)
        .expect("format");
    for body in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "   "}),
        json!({"reason": "x".repeat(201)}),
        json!({"reason": "ok", "until": "tomorrow"}),
        json!({"reason": "ok", "until": past}),
    ] {
        let res = lock(&app, &admin, "oscar", body.clone()).await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{body}");
    }
    assert_eq!(
        app.me(&jwt).await.status(),
        Status::Ok,
        "no refused lock ended a session"
    );
    let res = lock(&app, &admin, "nobody", json!({"reason": "x"})).await;
    assert_eq!(res.status(), Status::NotFound);
    assert_eq!(
        unlock(&app, &admin, "nobody").await.status(),
        Status::NotFound
    );
    let user = app.user_token("peggy").await;
    assert_eq!(
        lock(&app, &user, "oscar", json!({"reason": "x"}))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        unlock(&app, &user, "oscar").await.status(),
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn the_last_admin_who_can_log_in_cannot_be_locked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = lock(&app, &admin, ADMIN, json!({"reason": "oops"})).await;
    assert_eq!(error_code(res, Status::Conflict).await, "conflict");
    assert_eq!(
        app.me(&admin).await.status(),
        Status::Ok,
        "the refused lock ended nothing"
    );

    let _ = app.user_token("victor").await;
    let promote = app
        .with_cookie(app.client.patch("/api/users/victor"), &admin)
        .header(ContentType::JSON)
        .body(json!({"role": "admin"}).to_string())
        .dispatch()
        .await;
    assert_eq!(promote.status(), Status::Ok);
    let res = lock(&app, &admin, "victor", json!({"reason": "rotation"})).await;
    assert_eq!(res.status(), Status::Ok);
    // Victor is locked: the first admin is now the last who can log in, and cannot be demoted,
    // removed or locked either.
    let res = lock(&app, &admin, ADMIN, json!({"reason": "oops"})).await;
    assert_eq!(res.status(), Status::Conflict);
    let demote = app
        .with_cookie(app.client.patch(format!("/api/users/{ADMIN}")), &admin)
        .header(ContentType::JSON)
        .body(json!({"role": "user"}).to_string())
        .dispatch()
        .await;
    assert_eq!(demote.status(), Status::Conflict);
    assert_eq!(unlock(&app, &admin, "victor").await.status(), Status::Ok);
    let res = lock(&app, &admin, ADMIN, json!({"reason": "handing over"})).await;
    assert_eq!(res.status(), Status::Ok, "another admin can log in now");
    assert_eq!(
        app.login(ADMIN, ADMIN_PASSWORD).await.status(),
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn on_postgresql_a_lock_on_one_instance_ends_sessions_on_the_other_within_the_bound() {
    use crate::helpers::{postgres_base_url, TestDb};
    use crate::instances::{login_cookie, note, refused_within, Instance};
    use std::time::{Duration, Instant};
    let Some(_) = postgres_base_url() else { return };
    let db = TestDb::new();
    let (a, b) = (Instance::start(&db.url), Instance::start(&db.url));
    let http = reqwest::Client::new();
    let bound = Duration::from_millis(1000); // revocation_max_staleness's default
    let signup = http
        .post(a.url("/api/users"))
        .json(&json!({"username": "walter", "password": "walter-password"}))
        .send()
        .await
        .expect("sign up");
    assert_eq!(signup.status(), reqwest::StatusCode::CREATED);
    let mut cookies = Vec::new();
    for _ in 0..2 {
        cookies.push(login_cookie(&http, &a, "walter", "walter-password").await);
    }
    let admin = login_cookie(&http, &b, ADMIN, ADMIN_PASSWORD).await;
    let locked = http
        .post(b.url("/api/users/walter/lock"))
        .header("Cookie", admin)
        .json(&json!({"reason": "left the company"}))
        .send()
        .await
        .expect("lock on B");
    assert_eq!(locked.status(), reqwest::StatusCode::OK);
    let answered = Instant::now();
    for cookie in &cookies {
        let delay = refused_within(&http, a.url("/api/me"), cookie, answered, bound).await;
        note(&format!(
            "lock on B: A refused a session's token after {delay:?}"
        ));
    }
    let again = http
        .post(a.url("/authenticate"))
        .json(&json!({"username": "walter", "password": "walter-password"}))
        .send()
        .await
        .expect("login on A");
    assert_eq!(
        again.status(),
        reqwest::StatusCode::FORBIDDEN,
        "locked on every instance"
    );
}
