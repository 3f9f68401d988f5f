//! Logins in flight racing account changes (a demotion, a lock, a removal, a password change, a
//! logout everywhere): no session or token may come out of a password check that began before the
//! change committed. Four clients log in back to back; the change is sent while their password
//! checks are in flight, and each client logs in once more after its answer. Whatever the
//! timing, every token is then refused or carries the new state: for a removal or a password
//! change (logins with the old password) every token is refused; after a demotion every token
//! is refused or says `user`; after a logout everywhere every login answered before the change
//! was sent is refused, and every later one works.
//!
//! A login sent before the change does not prove its password check began before the change
//! committed: on a busy machine the server may read the account only after the commit, and
//! such a login rightly survives. So the race tests judge exactly what the client can tell
//! apart (every login, or the logins answered before the change was sent), and a login whose
//! account was read before a logout everywhere is put to the writer directly at the end.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rocket::futures::future::join_all;
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::serde_json::json;

use crate::helpers::{
    eventually, json_body, jwt_cookie, postgres_base_url, refresh_cookie, TestApp,
};

const CLIENTS: usize = 4;

/// One login of the race: when it was sent, and what it obtained.
struct Raced {
    /// Answered before the change was sent: its session existed when the change committed.
    settled: bool,
    /// Sent after the change was answered.
    after: bool,
    status: Status,
    tokens: Option<(String, String)>,
}

/// Logs `user` in with `password` from four clients back to back; sends `change` once a few
/// logins are through (so that others are in flight), and one more login per client after its
/// answer. Returns every login.
async fn race<'a, F>(app: &'a TestApp, user: &str, password: &str, change: F) -> Vec<Raced>
where
    F: Future<Output = LocalResponse<'a>>,
{
    let sent = AtomicBool::new(false);
    let answered = AtomicBool::new(false);
    let finished = AtomicUsize::new(0);
    let client = |_| async {
        let mut raced = Vec::new();
        loop {
            let after = answered.load(Ordering::SeqCst);
            let res = app.login(user, password).await;
            let settled = !sent.load(Ordering::SeqCst);
            finished.fetch_add(1, Ordering::SeqCst);
            let tokens = jwt_cookie(&res).zip(refresh_cookie(&res));
            raced.push(Raced {
                settled,
                after,
                status: res.status(),
                tokens,
            });
            if after {
                return raced;
            }
        }
    };
    let changer = async {
        let warmed = eventually(30, || async { finished.load(Ordering::SeqCst) >= CLIENTS }).await;
        assert!(warmed, "the logins did not start");
        sent.store(true, Ordering::SeqCst);
        let res = change.await;
        assert!(
            res.status().class().is_success(),
            "the change: {}",
            res.status()
        );
        answered.store(true, Ordering::SeqCst);
    };
    let (clients, ()) = rocket::tokio::join!(join_all((0..CLIENTS).map(client)), changer);
    clients.into_iter().flatten().collect()
}

/// Every login of `raced`: refused, or its access and refresh tokens refused now; `role`, when
/// given, is a role a token may carry instead.
async fn assert_none_survives(app: &TestApp, raced: &[&Raced], role: Option<&str>) {
    for login in raced {
        let Some((jwt, refresh)) = &login.tokens else {
            assert!(
                [Status::Unauthorized, Status::Forbidden, Status::Conflict].contains(&login.status),
                "a refused login answered {}",
                login.status
            );
            continue;
        };
        if role.is_none() {
            // Another instance's change reaches this one's view within its staleness bound.
            let refused = eventually(5, || async {
                app.me(jwt).await.status() == Status::Unauthorized
            })
            .await;
            assert!(
                refused,
                "an access token from a password check that began before the change"
            );
        }
        let me = app.me(jwt).await;
        if me.status() == Status::Ok && role.is_some() {
            assert_eq!(
                json_body(me).await["role"].as_str(),
                role,
                "a surviving token"
            );
            let refreshed = app.refresh(refresh).await;
            let jwt = jwt_cookie(&refreshed).expect("a surviving session refreshes");
            assert_eq!(me_role(app, &jwt).await, role.unwrap_or_default());
            continue;
        }
        assert_eq!(
            me.status(),
            Status::Unauthorized,
            "an access token from a password check that began before the change"
        );
        assert_eq!(
            app.refresh(refresh).await.status(),
            Status::Unauthorized,
            "a refresh token from a password check that began before the change"
        );
    }
}

/// The logins answered before the change was sent: their sessions existed when it committed.
fn settled(raced: &[Raced]) -> Vec<&Raced> {
    let settled: Vec<&Raced> = raced.iter().filter(|r| r.settled).collect();
    assert!(settled.len() >= CLIENTS, "too few logins before the change");
    settled
}

fn all(raced: &[Raced]) -> Vec<&Raced> {
    raced.iter().collect()
}

fn after(raced: &[Raced]) -> Vec<&Raced> {
    let after: Vec<&Raced> = raced.iter().filter(|r| r.after).collect();
    assert_eq!(after.len(), CLIENTS);
    after
}

async fn admin_request<'a>(
    app: &'a TestApp,
    method: Method,
    uri: &str,
    body: Option<rocket::serde::json::Value>,
) -> LocalResponse<'a> {
    let token = app.admin_token().await;
    let mut req = app.with_cookie(app.client.req(method, uri.to_owned()), &token);
    if let Some(body) = body {
        req = req.header(ContentType::JSON).body(body.to_string());
    }
    req.dispatch().await
}

async fn me_role(app: &TestApp, jwt: &str) -> String {
    let res = app.me(jwt).await;
    assert_eq!(res.status(), Status::Ok);
    json_body(res).await["role"]
        .as_str()
        .expect("role")
        .to_owned()
}

#[rocket::async_test]
async fn a_demotion_is_not_outlived_by_logins_in_flight() {
    let app = TestApp::spawn().await;
    let _ = app.user_token("mal").await;
    let promoted = admin_request(
        &app,
        Method::Patch,
        "/api/users/mal",
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promoted.status(), Status::Ok);
    let demote = admin_request(
        &app,
        Method::Patch,
        "/api/users/mal",
        Some(json!({"role": "user"})),
    );
    let raced = race(&app, "mal", "mal-password", demote).await;
    assert_none_survives(&app, &settled(&raced), None).await;
    assert_none_survives(&app, &all(&raced), Some("user")).await;
    for login in after(&raced) {
        let (jwt, refresh) = login.tokens.as_ref().expect("a later login works");
        assert_eq!(me_role(&app, jwt).await, "user");
        let listing = app.blacklist(jwt, "/blacklist").await;
        assert_eq!(listing.status(), Status::Forbidden, "no admin listing");
        let refreshed = app.refresh(refresh).await;
        let jwt = jwt_cookie(&refreshed).expect("refreshed");
        assert_eq!(me_role(&app, &jwt).await, "user");
    }
}

#[rocket::async_test]
async fn a_lock_is_not_outlived_by_logins_in_flight() {
    let app = TestApp::spawn().await;
    let _ = app.user_token("lou").await;
    let lock = admin_request(
        &app,
        Method::Post,
        "/api/users/lou/lock",
        Some(json!({"reason": "under review"})),
    );
    let raced = race(&app, "lou", "lou-password", lock).await;
    assert_none_survives(&app, &all(&raced), None).await;
    for login in after(&raced) {
        assert_eq!(
            login.status,
            Status::Forbidden,
            "locked: the right password is told so"
        );
    }
}

#[rocket::async_test]
async fn a_removal_is_not_outlived_and_a_recreated_name_inherits_nothing() {
    let app = TestApp::spawn().await;
    let _ = app.user_token("gone").await;
    let remove = admin_request(&app, Method::Delete, "/api/users/gone", None);
    let raced = race(&app, "gone", "gone-password", remove).await;
    assert_none_survives(&app, &all(&raced), None).await;
    for login in after(&raced) {
        assert_eq!(login.status, Status::Unauthorized);
    }
    // Someone signs up under the name: no refresh token of the old account continues into it.
    let (jwt, _) = app.user_session("gone").await;
    for login in &raced {
        if let Some((_, refresh)) = &login.tokens {
            assert_eq!(app.refresh(refresh).await.status(), Status::Unauthorized);
        }
    }
    let res = app
        .with_cookie(app.client.get("/api/sessions"), &jwt)
        .dispatch()
        .await;
    let listed = json_body(res).await["items"].as_array().map(Vec::len);
    assert_eq!(listed, Some(1), "only the new account's own session");
}

#[rocket::async_test]
async fn a_password_change_is_not_outlived_by_logins_with_the_old_password() {
    // Once the change commits, the old password fails until the clients hear of it: on a busy
    // machine enough times to throttle them, and a 429 would hide what the race obtained.
    let app = TestApp::spawn_with(|f| {
        f.merge(("login_max_failures_per_user", 10_000))
            .merge(("login_max_untrusted_failures_per_user", 10_000))
            .merge(("login_max_failures_per_ip", 10_000))
            .merge(("login_max_per_ip", 100_000))
    })
    .await;
    let owner = app.user_token("pat").await;
    let change = app
        .with_cookie(app.client.post("/api/password"), &owner)
        .header(ContentType::JSON)
        .body(
            json!({"current_password": "pat-password", "new_password": "a-new-password"})
                .to_string(),
        )
        .dispatch();
    let raced = race(&app, "pat", "pat-password", change).await;
    assert_none_survives(&app, &all(&raced), None).await;
    for login in after(&raced) {
        assert_eq!(login.status, Status::Unauthorized, "the old password");
    }
    assert_eq!(
        app.login("pat", "a-new-password").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn a_logout_everywhere_is_not_outlived_by_logins_in_flight() {
    let app = TestApp::spawn().await;
    let owner = app.user_token("lou").await;
    let everywhere = app
        .with_cookie(app.client.post("/blacklist/logout-all"), &owner)
        .dispatch();
    let raced = race(&app, "lou", "lou-password", everywhere).await;
    assert_none_survives(&app, &settled(&raced), None).await;
    for login in after(&raced) {
        let (jwt, _) = login.tokens.as_ref().expect("a later login works");
        assert_eq!(app.me(jwt).await.status(), Status::Ok);
    }
}

#[rocket::async_test]
async fn on_postgresql_a_removal_on_one_instance_is_not_outlived_by_logins_on_another() {
    if postgres_base_url().is_none() {
        return; // one process per SQLite file: there is no other instance to race
    }
    let app = TestApp::spawn().await;
    let other = TestApp::spawn_on(app.db.alias(), |f| f).await;
    let _ = app.user_token("gone").await;
    let remove = admin_request(&other, Method::Delete, "/api/users/gone", None);
    let raced = race(&app, "gone", "gone-password", remove).await;
    assert_none_survives(&app, &all(&raced), None).await;
    for login in after(&raced) {
        assert_eq!(login.status, Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn a_login_checked_before_a_logout_everywhere_commits_no_session() {
    use jwt_blacklist::app::App;
    use jwt_blacklist::audit::{Actor, Event, Kind, Source};
    use jwt_blacklist::db::users;
    use jwt_blacklist::revocation::{ChangeError, Login, Refused};
    use time::{Duration, OffsetDateTime};

    let app = TestApp::spawn().await;
    let owner = app.user_token("lou").await;
    // The account as a login's password check reads it, before the change.
    let read = app
        .pool()
        .run(|conn| users::find(conn, "lou"))
        .await
        .expect("the database answers")
        .expect("lou exists");
    let res = app
        .with_cookie(app.client.post("/blacklist/logout-all"), &owner)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    drop(res);

    // That check now asks for its session: the writer refuses it, whatever the timing was.
    let now = OffsetDateTime::now_utc();
    let login = Login {
        user_id: read.id.clone(),
        generation: read.generation,
        username: read.username.clone(),
        session_id: uuid::Uuid::now_v7(),
        access_issued_at: now,
        user_agent: "race".into(),
        ip: None,
        device_label: "race".into(),
        refresh_hash: "0".repeat(64),
        now,
        refresh_expires_at: now + Duration::hours(1),
        access_expires_at: now + Duration::minutes(5),
        remember: true,
        device: "00".repeat(16),
        max_sessions: 100,
        max_devices: 100,
    };
    let event = Event::new(Kind::LoginSucceeded, Actor::Subject, Source::default());
    let state = app.client.rocket().state::<App>().expect("App is managed");
    let started = state.revocation.start_session(login, event).await;
    assert!(
        matches!(started, Err(ChangeError::Refused(Refused::Changed))),
        "a stale login was not refused: {started:?}"
    );
    // A login checked now works.
    assert_eq!(app.login("lou", "lou-password").await.status(), Status::Ok);
}
