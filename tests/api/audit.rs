//! The audit trail: every kind of event is written with who acted and from where; an event
//! commits with its change or not at all; a flood of throttled attempts is a bounded count;
//! `GET /audit` filters and pages by id, streams NDJSON; `GET /api/events` shows a user their
//! own; old events are purged.

use std::net::SocketAddr;

use diesel::RunQueryDsl;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::serde::json::{serde_json::json, Value};
use time::OffsetDateTime;

use crate::console::{lock, unlock};
use crate::helpers::{
    error_code, eventually, json_body, jwt_cookie, refresh_cookie, TestApp, ADMIN,
};

/// Events of `query` on `/audit`, newest first.
async fn audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app
        .authed(Method::Get, &format!("/audit{query}"), token)
        .await;
    assert_eq!(res.status(), Status::Ok, "{query}");
    items(json_body(res).await)
}

fn items(page: Value) -> Vec<Value> {
    page["items"].as_array().expect("items").clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {events:#?}"))
}

#[rocket::async_test]
async fn a_users_logins_failures_and_logouts_are_recorded_with_who_and_from_where() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.sign_up("alice", "alice-password").await.status(),
        Status::Created
    );
    let remote: SocketAddr = "203.0.113.7:41000".parse().expect("addr");
    let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    let login = |password: &'static str| {
        app.post_json(
            "/authenticate",
            json!({"username": "alice", "password": password}),
        )
        .remote(remote)
        .header(Header::new("User-Agent", agent))
        .dispatch()
    };
    assert_eq!(
        login("guess-number-one").await.status(),
        Status::Unauthorized
    );
    let res = login("alice-password").await;
    assert_eq!(res.status(), Status::Ok);
    let jwt = jwt_cookie(&res).expect("jwt");
    assert_eq!(app.logout(Some(&jwt)).await.status(), Status::Ok);
    let other = app.user_token("alice").await;
    let all = app
        .authed(Method::Post, "/blacklist/logout-all", &other)
        .await;
    assert_eq!(all.status(), Status::Ok);

    let admin = app.admin_token().await;
    let events = audit(&app, &admin, "?username=ALICE").await;
    assert_eq!(
        kinds(&events),
        [
            "logout_all",
            "login.succeeded",
            "logout",
            "login.succeeded",
            "login.failed",
            "user.created"
        ]
    );
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let succeeded = &events[3];
    assert_eq!(succeeded["actor"], "alice");
    assert_eq!(succeeded["ip"], "203.0.113.7");
    assert_eq!(succeeded["user_agent"], agent);
    assert!(succeeded["session_id"].is_string());
    let failed = of_kind(&events, "login.failed");
    assert_eq!(failed["detail"]["reason"], "invalid_credentials");
    assert_eq!(failed["ip"], "203.0.113.7");
    assert_eq!(
        events[2]["session_id"], succeeded["session_id"],
        "the logout names its session"
    );
    assert_eq!(
        of_kind(&events, "user.created")["actor"],
        "alice",
        "signed up by herself"
    );

    let text = app
        .authed(Method::Get, "/audit", &admin)
        .await
        .into_string()
        .await
        .expect("body");
    for secret in ["guess-number-one", "alice-password", jwt.as_str()] {
        assert!(!text.contains(secret), "a secret reached the audit trail");
    }
}

#[rocket::async_test]
async fn admin_changes_are_recorded_with_the_admin_as_actor() {
    let app = TestApp::spawn_with(|f| f.merge(("refresh_reuse_grace", 1))).await;
    let (_, refresh) = app.user_session("bob").await;
    let admin = app.admin_token().await;
    // A refresh token presented again after its rotation's grace: the server ends the session.
    let first = app.refresh(&refresh).await;
    let rotated = refresh_cookie(&first).expect("rotated");
    assert_eq!(app.refresh(&rotated).await.status(), Status::Ok);
    let replay = eventually(15, || async {
        app.refresh(&refresh).await.status() == Status::Unauthorized
            && !audit(&app, &admin, "?kind=refresh.reuse_detected")
                .await
                .is_empty()
    });
    assert!(replay.await, "a replayed refresh token is recorded");

    let set_role = |role: &'static str| {
        app.with_cookie(app.client.patch("/api/users/bob"), &admin)
            .header(ContentType::JSON)
            .body(json!({"role": role}).to_string())
            .dispatch()
    };
    assert_eq!(set_role("admin").await.status(), Status::Ok);
    let jwt = app.user_token("bob").await;
    let sessions = json_body(app.authed(Method::Get, "/api/sessions", &jwt).await).await;
    let sid = sessions["items"][0]["id"].as_str().expect("id").to_owned();
    let end = app
        .authed(Method::Delete, &format!("/sessions/{sid}"), &admin)
        .await;
    assert_eq!(end.status(), Status::NoContent);
    assert_eq!(
        lock(&app, &admin, "bob", json!({"reason": "audit test"}))
            .await
            .status(),
        Status::Ok
    );
    assert_eq!(unlock(&app, &admin, "bob").await.status(), Status::Ok);
    let gone = app.authed(Method::Delete, "/api/users/bob", &admin).await;
    assert_eq!(gone.status(), Status::NoContent);

    let events = audit(&app, &admin, "?username=bob").await;
    let by_admin = [
        "user.deleted",
        "user.unlocked",
        "user.locked",
        "session.ended",
    ];
    assert_eq!(kinds(&events)[..4], by_admin);
    for kind in by_admin.iter().chain(&["role.changed"]) {
        assert_eq!(of_kind(&events, kind)["actor"], ADMIN, "{kind}");
    }
    assert_eq!(of_kind(&events, "role.changed")["detail"]["role"], "admin");
    assert_eq!(
        of_kind(&events, "user.locked")["detail"]["reason"],
        "audit test"
    );
    assert_eq!(
        of_kind(&events, "session.ended")["session_id"],
        sid.as_str()
    );
    let reuse = of_kind(&events, "refresh.reuse_detected");
    assert_eq!(reuse["actor"], "system");
    assert_eq!(reuse["detail"]["sessions_ended"], 1);
}

#[rocket::async_test]
async fn a_refused_change_writes_no_event_and_a_change_whose_event_fails_does_not_happen() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let res = lock(&app, &admin, ADMIN, json!({"reason": "refused"})).await;
    assert_eq!(res.status(), Status::Conflict);
    let demote = app
        .with_cookie(app.client.patch(format!("/api/users/{ADMIN}")), &admin)
        .header(ContentType::JSON)
        .body(json!({"role": "user"}).to_string())
        .dispatch()
        .await;
    assert_eq!(demote.status(), Status::Conflict);
    let events = audit(&app, &admin, "?kind=user.locked&kind=role.changed").await;
    assert!(events.is_empty(), "a refused change left {events:#?}");

    // With the trail unwritable, the lock and its ending of sessions roll back together.
    let jwt = app.user_token("carl").await;
    app.pool()
        .run(|c| {
            diesel::sql_query("ALTER TABLE audit_events RENAME TO audit_events_gone").execute(c)
        })
        .await
        .expect("rename");
    let res = lock(&app, &admin, "carl", json!({"reason": "x"})).await;
    assert_eq!(res.status(), Status::ServiceUnavailable);
    assert_eq!(
        app.me(&jwt).await.status(),
        Status::Ok,
        "no session ended without its event"
    );
    app.pool()
        .run(|c| {
            diesel::sql_query("ALTER TABLE audit_events_gone RENAME TO audit_events").execute(c)
        })
        .await
        .expect("rename back");
    assert_eq!(
        app.login("carl", "carl-password").await.status(),
        Status::Ok,
        "not locked"
    );
    let events = audit(&app, &admin, "?username=carl&kind=user.locked").await;
    assert!(
        events.is_empty(),
        "no event of a change that did not happen"
    );
}

#[rocket::async_test]
async fn the_trail_pages_by_id_and_filters_by_kind_and_time() {
    let app = TestApp::spawn().await;
    for name in ["dan", "erin", "fay"] {
        let _ = app.user_token(name).await;
    }
    let admin = app.admin_token().await;
    let everything = audit(&app, &admin, "?limit=1000").await;
    assert!(everything.len() >= 7, "{everything:#?}");
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let res = app
            .authed(Method::Get, &format!("/audit{query}"), &admin)
            .await;
        let page = json_body(res).await;
        let items = items(page.clone());
        assert!(items.len() <= 2);
        paged.extend(items);
        match page["next"].as_i64() {
            Some(next) => query = format!("?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(
        paged, everything,
        "pages join into the whole trail, each event once"
    );

    let two = audit(&app, &admin, "?kind=user.created&kind=login.succeeded").await;
    assert_eq!(
        two.len(),
        8,
        "4 accounts created (the admin's too), 4 logins"
    );
    assert!(two
        .iter()
        .all(|e| e["kind"] == "user.created" || e["kind"] == "login.succeeded"));
    let future = (OffsetDateTime::now_utc() + time::Duration::hours(1)).unix_timestamp();
    let since = time::OffsetDateTime::from_unix_timestamp(future).expect("t");
    let since = since
        .format(&time::format_description::well_known::Rfc3339)
        .expect("f");
    assert!(audit(&app, &admin, &format!("?since={since}"))
        .await
        .is_empty());
    assert_eq!(
        audit(&app, &admin, &format!("?until={since}&limit=1000")).await,
        everything
    );

    for bad in [
        "?kind=login",
        "?limit=0",
        "?limit=1001",
        "?before=0",
        "?since=yesterday",
        "?username=a%20b",
    ] {
        let res = app
            .authed(Method::Get, &format!("/audit{bad}"), &admin)
            .await;
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity",
            "{bad}"
        );
    }
    let user = app.user_token("dan").await;
    assert_eq!(
        app.authed(Method::Get, "/audit", &user).await.status(),
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn ndjson_streams_the_same_selection_one_event_per_line() {
    let app = TestApp::spawn().await;
    for name in ["gus", "hal"] {
        let _ = app.user_token(name).await;
    }
    let admin = app.admin_token().await;
    let paged = audit(&app, &admin, "?limit=1000&kind=login.succeeded").await;
    let res = app
        .with_cookie(
            app.client.get("/audit?kind=login.succeeded&limit=1"),
            &admin,
        )
        .header(Header::new("Accept", "application/x-ndjson"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        res.content_type().map(|c| c.to_string()).as_deref(),
        Some("application/x-ndjson")
    );
    let text = res.into_string().await.expect("body");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| rocket::serde::json::serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines, paged, "the whole selection, limit ignored");
}

#[rocket::async_test]
async fn users_see_their_own_events_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let ivy = app.user_token("ivy").await;
    assert_eq!(
        app.login("ivy", "wrong-password").await.status(),
        Status::Unauthorized
    );
    let jack = app.user_token("jack").await;
    let change = app
        .with_cookie(app.client.post("/api/password"), &ivy)
        .header(ContentType::JSON)
        .body(
            json!({"current_password": "ivy-password", "new_password": "ivy-new-password"})
                .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(change.status(), Status::Ok);
    let ivy = jwt_cookie(&change).expect("re-issued");
    let mine = items(json_body(app.authed(Method::Get, "/api/events", &ivy).await).await);
    assert_eq!(
        kinds(&mine),
        [
            "password.changed",
            "login.failed",
            "login.succeeded",
            "user.created"
        ]
    );
    assert!(mine.iter().all(|e| e["username"] == "ivy"), "{mine:#?}");
    let exact = json_body(app.authed(Method::Get, "/api/events?limit=4", &ivy).await).await;
    assert!(
        exact["next"].is_null(),
        "a full last page has no next: {exact}"
    );
    let page = json_body(app.authed(Method::Get, "/api/events?limit=1", &ivy).await).await;
    assert_eq!(items(page.clone()).len(), 1);
    let next = page["next"].as_i64().expect("a next page");
    let rest = app
        .authed(Method::Get, &format!("/api/events?before={next}"), &ivy)
        .await;
    assert_eq!(items(json_body(rest).await), mine[1..]);
    let theirs = items(json_body(app.authed(Method::Get, "/api/events", &jack).await).await);
    assert_eq!(kinds(&theirs), ["login.succeeded", "user.created"]);

    // What an admin did shows who and what, not the admin's address, agent or note.
    let admin = app.admin_token().await;
    let locked = app
        .with_cookie(app.client.post("/api/users/jack/lock"), &admin)
        .remote("192.0.2.99:1000".parse().expect("addr"))
        .header(ContentType::JSON)
        .body(json!({"reason": "internal note"}).to_string())
        .dispatch()
        .await;
    assert_eq!(locked.status(), Status::Ok);
    assert_eq!(unlock(&app, &admin, "jack").await.status(), Status::Ok);
    let jack = app.user_token("jack").await;
    let theirs = items(json_body(app.authed(Method::Get, "/api/events", &jack).await).await);
    let lock = of_kind(&theirs, "user.locked");
    assert_eq!(lock["actor"], ADMIN);
    assert!(
        lock["ip"].is_null() && lock["detail"].get("reason").is_none(),
        "{lock}"
    );
    let seen_by_admin = audit(&app, &admin, "?username=jack&kind=user.locked").await;
    assert_eq!(seen_by_admin[0]["ip"], "192.0.2.99");
    assert_eq!(seen_by_admin[0]["detail"]["reason"], "internal note");
    // Locked, the right password is told so every time; it is not counted as a failure.
    assert_eq!(lock_again(&app, &admin).await, Status::Ok);
    for _ in 0..12 {
        assert_eq!(
            app.login("jack", "jack-password").await.status(),
            Status::Forbidden
        );
    }
    assert_eq!(
        app.client.get("/api/events").dispatch().await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn a_flood_of_throttled_logins_is_one_counted_row_per_client_name_and_minute() {
    let app = TestApp::spawn().await;
    let _ = app.user_token("kim").await;
    let remote: SocketAddr = "198.51.100.9:5000".parse().expect("addr");
    let (mut failed, mut throttled) = (0, 0);
    for _ in 0..60 {
        match app
            .login_from(remote, "kim", "not-kims-password")
            .await
            .status()
        {
            Status::Unauthorized => failed += 1,
            Status::TooManyRequests => throttled += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(throttled > 40, "the throttle refused {throttled}");
    let admin = app.admin_token().await;
    let counted = eventually(20, || async {
        let rows = audit(&app, &admin, "?kind=login.throttled").await;
        rows.iter()
            .map(|r| r["detail"]["count"].as_i64().unwrap_or(0))
            .sum::<i64>()
            == throttled
    })
    .await;
    assert!(counted, "every throttled attempt is counted");
    let rows = audit(&app, &admin, "?kind=login.throttled").await;
    assert!(
        rows.len() <= 2,
        "one row per minute (two across a minute boundary): {rows:#?}"
    );
    assert_eq!(rows[0]["username"], "kim");
    assert_eq!(rows[0]["ip"], "198.51.100.9");
    assert_eq!(rows[0]["detail"]["limit"], "failures");
    let failures = audit(&app, &admin, "?kind=login.failed&limit=1000").await;
    assert_eq!(failures.len(), failed, "one row per failed (401) login");
}

#[rocket::async_test]
async fn the_purge_deletes_events_past_their_retention_in_batches() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("audit_retention_days", 30))
            .merge(("purge_batch_size", 2))
    })
    .await;
    let _ = app.user_token("lee").await;
    let admin = app.admin_token().await;
    let before = audit(&app, &admin, "?limit=1000").await.len();
    let old = jwt_blacklist::db::to_db_time(OffsetDateTime::now_utc() - time::Duration::days(31));
    app.pool()
        .run(move |conn| {
            use jwt_blacklist::db::audit_events::{insert, NewEvent};
            for _ in 0..5 {
                let event = NewEvent {
                    at: old,
                    kind: "login.failed".into(),
                    actor: "anonymous".into(),
                    username: None,
                    user_id: None,
                    session_id: None,
                    ip: None,
                    user_agent: None,
                    detail: "{}".into(),
                    count: 1,
                    dedup: None,
                };
                insert(conn, &event)?;
            }
            Ok(())
        })
        .await
        .expect("insert");
    assert_eq!(audit(&app, &admin, "?limit=1000").await.len(), before + 5);
    assert_eq!(app.purge(&admin).await.status(), Status::Ok);
    let left = audit(&app, &admin, "?limit=1000").await;
    assert_eq!(
        left.len(),
        before,
        "the 5 old events went in batches of 2, the recent stayed"
    );
}

#[rocket::async_test]
async fn the_metrics_count_events_by_kind_and_locked_accounts() {
    let app = TestApp::spawn().await;
    let _ = app.user_token("max").await;
    let admin = app.admin_token().await;
    assert_eq!(
        lock(&app, &admin, "max", json!({"reason": "metrics"}))
            .await
            .status(),
        Status::Ok
    );
    let text = app
        .authed(Method::Get, "/metrics", &admin)
        .await
        .into_string()
        .await
        .expect("text");
    assert!(
        text.contains("audit_events_total{kind=\"login.succeeded\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("audit_events_total{kind=\"user.locked\"} 1"),
        "{text}"
    );
    assert!(text.contains("\nusers_locked 1\n"), "{text}");
}

async fn lock_again(app: &TestApp, admin: &str) -> Status {
    lock(app, admin, "jack", json!({"reason": "again"}))
        .await
        .status()
}
