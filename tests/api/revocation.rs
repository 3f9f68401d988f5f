//! The revocation view: write-through, loading, trimming, the database mode, the readiness
//! probe, and (on PostgreSQL) what happens when the listener loses its session.

use jwt_blacklist::app::App;
use jwt_blacklist::revocation::{Revocation, LISTENER_APPLICATION_NAME};
use rocket::http::Status;
use time::OffsetDateTime;

use crate::helpers::{claims, eventually, forge, postgres_base_url, TestApp, TestDb};

fn revocation(app: &TestApp) -> &Revocation {
    &app.client
        .rocket()
        .state::<App>()
        .expect("App is managed")
        .revocation
}

/// A token the server accepts, with its id, without paying for a login.
fn token_for(user: &str) -> (String, String) {
    let claims = claims(user, "user");
    let jti = claims["jti"].as_str().expect("jti").to_owned();
    (forge(&claims), jti)
}

#[rocket::async_test]
async fn a_logout_is_refused_by_the_next_request_which_asks_the_view_not_the_table() {
    let app = TestApp::spawn_on(TestDb::sqlite(), |f| f).await;
    let (revoked, _) = token_for("alice");
    let (live, _) = token_for("bob");
    assert_eq!(app.logout(Some(&revoked)).await.status(), Status::Ok);
    app.break_the_blacklist_table().await;
    assert_eq!(app.me(&revoked).await.status(), Status::Unauthorized);
    assert_eq!(
        app.me(&live).await.status(),
        Status::Ok,
        "no table is read on a protected request"
    );
}

#[rocket::async_test]
async fn a_logout_the_database_did_not_commit_is_not_revoked_and_answers_503() {
    let app = TestApp::spawn().await;
    let (token, _) = token_for("alice");
    app.break_the_blacklist_table().await;
    assert_eq!(
        app.logout(Some(&token)).await.status(),
        Status::ServiceUnavailable
    );
    assert_eq!(revocation(&app).view_len(), Some(0));
}

#[rocket::async_test]
async fn in_database_mode_each_check_reads_the_table() {
    let app = TestApp::spawn_with(|f| f.merge(("revocation_check", "database"))).await;
    let (token, jti) = token_for("alice");
    assert_eq!(app.me(&token).await.status(), Status::Ok);
    assert_eq!(revocation(&app).view_len(), None, "no view is kept");
    app.insert_row_for(&jti, 3600).await;
    assert_eq!(
        app.me(&token).await.status(),
        Status::Unauthorized,
        "a row written behind the server's back is seen at once"
    );
}

#[rocket::async_test]
async fn rows_in_the_table_at_start_are_loaded_into_the_view_except_expired_ones() {
    let first = TestApp::spawn().await;
    let (token, jti) = token_for("alice");
    first.insert_row_for(&jti, 3600).await;
    first.insert_row(-3600).await;
    let TestApp { client, db } = first;
    client.terminate().await;

    let second = TestApp::spawn_on(db, |f| f).await;
    assert_eq!(second.me(&token).await.status(), Status::Unauthorized);
    assert_eq!(revocation(&second).view_len(), Some(1));
}

#[rocket::async_test]
async fn the_purge_trims_the_view_of_tokens_that_have_expired() {
    let app = TestApp::spawn().await;
    let (token, _) = token_for("alice");
    assert_eq!(app.logout(Some(&token)).await.status(), Status::Ok);
    let revocation = revocation(&app);
    assert_eq!(revocation.view_len(), Some(1));
    revocation
        .purge(OffsetDateTime::now_utc(), 100)
        .await
        .expect("purge");
    assert_eq!(revocation.view_len(), Some(1), "a live token's entry stays");
    let later = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let purged = revocation.purge(later, 100).await.expect("purge");
    assert_eq!((purged, revocation.view_len()), (1, Some(0)));
}

#[rocket::async_test]
async fn liveness_needs_no_database_and_readiness_does() {
    let app = TestApp::spawn().await;
    app.break_the_blacklist_table().await;
    let live = app.client.get("/health/live").dispatch().await;
    assert_eq!(live.status(), Status::Ok);
    assert_eq!(
        live.into_string().await.as_deref(),
        Some(r#"{"status":"ok"}"#)
    );
    let ready = app.client.get("/health").dispatch().await;
    assert_eq!(ready.status(), Status::ServiceUnavailable);
}

/// Ends every listener session on the test database, as a crash, a failover or an operator
/// would; returns how many were ended.
fn terminate_listeners(url: &str) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Ended {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::PgConnection::establish(url).expect("connect");
    diesel::sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(LISTENER_APPLICATION_NAME)
    .get_result::<Ended>(&mut conn)
    .expect("terminate listeners")
    .n
}

#[rocket::async_test]
async fn a_logout_elsewhere_while_the_listener_is_cut_off_is_never_answered_200() {
    let Some(_) = postgres_base_url() else { return };
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db.alias(), |f| f).await;
    let (token, _) = token_for("alice");
    assert_eq!(a.me(&token).await.status(), Status::Ok);
    let sessions = revocation(&a).listener_sessions().expect("a listener");

    assert!(terminate_listeners(&a.db.url) >= 1);
    let noticed = eventually(5, || async {
        a.me(&token).await.status() == Status::ServiceUnavailable
    })
    .await;
    assert!(noticed, "A went on answering as if its listener were alive");
    assert_eq!(b.logout(Some(&token)).await.status(), Status::Ok);

    let seen = std::cell::RefCell::new(Vec::new());
    let refused = eventually(10, || {
        let (a, seen, token) = (&a, &seen, &token);
        async move {
            let status = a.me(token).await.status();
            seen.borrow_mut().push(status);
            status == Status::Unauthorized
        }
    })
    .await;
    let seen = seen.into_inner();
    assert!(
        !seen.contains(&Status::Ok),
        "A accepted a revoked token: {seen:?}"
    );
    assert!(refused, "A never caught up: {seen:?}");
    assert!(revocation(&a).listener_sessions().expect("a listener") > sessions);
    assert_eq!(
        a.client.get("/health").dispatch().await.status(),
        Status::Ok
    );
}

/// Signs `user` up and logs in; returns the jwt cookie (a token with a session).
async fn login(app: &TestApp, user: &str) -> String {
    app.user_token(user).await
}

async fn logout_all(app: &TestApp, token: &str) -> Status {
    app.with_cookie(app.client.post("/blacklist/logout-all"), token)
        .dispatch()
        .await
        .status()
}

#[rocket::async_test]
async fn ended_sessions_and_cutoffs_in_the_table_at_start_are_loaded_into_the_view() {
    let first = TestApp::spawn().await;
    let in_session = login(&first, "alice").await;
    // A token without a session (as issued before sessions existed): only a cut-off refuses it.
    let (legacy, _) = token_for("bob");
    let bob = login(&first, "bob").await;
    assert_eq!(first.logout(Some(&in_session)).await.status(), Status::Ok);
    assert_eq!(logout_all(&first, &bob).await, Status::Ok);
    let TestApp { client, db } = first;
    client.terminate().await;

    let second = TestApp::spawn_on(db, |f| f).await;
    assert_eq!(second.me(&in_session).await.status(), Status::Unauthorized);
    assert_eq!(second.me(&legacy).await.status(), Status::Unauthorized);
    // alice's token id, alice's session, bob's session and bob's cut-off.
    assert_eq!(revocation(&second).view_len(), Some(4));
    let fresh = login(&second, "bob").await;
    assert_eq!(second.me(&fresh).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn the_purge_trims_ended_sessions_and_cutoffs_from_the_view_once_their_tokens_expired() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice").await;
    let bob = login(&app, "bob").await;
    assert_eq!(app.logout(Some(&alice)).await.status(), Status::Ok);
    assert_eq!(logout_all(&app, &bob).await, Status::Ok);
    let revocation = revocation(&app);
    assert_eq!(revocation.view_len(), Some(4));
    revocation
        .purge(OffsetDateTime::now_utc(), 100)
        .await
        .expect("purge");
    assert_eq!(revocation.view_len(), Some(4), "nothing has expired yet");
    let later = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let purged = revocation.purge(later, 100).await.expect("purge");
    assert_eq!(revocation.view_len(), Some(0));
    // 1 blacklist row, 2 sessions, 1 cut-off (the refresh tokens go with their sessions).
    assert_eq!(purged, 4);
}

#[rocket::async_test]
async fn a_logout_all_elsewhere_while_the_listener_is_cut_off_is_caught_up_before_a_200() {
    let Some(_) = postgres_base_url() else { return };
    let a = TestApp::spawn().await;
    // B checks in the table, so that cutting the listeners off (A's and any of B's) leaves B's
    // guard, which logout-all needs, able to answer.
    let b = TestApp::spawn_on(a.db.alias(), |f| f.merge(("revocation_check", "database"))).await;
    let in_session = login(&a, "alice").await;
    let (legacy, _) = token_for("alice");
    assert_eq!(a.me(&legacy).await.status(), Status::Ok);

    assert!(terminate_listeners(&a.db.url) >= 1);
    let noticed = eventually(5, || async {
        a.me(&legacy).await.status() == Status::ServiceUnavailable
    })
    .await;
    assert!(noticed, "A went on answering as if its listener were alive");
    assert_eq!(logout_all(&b, &legacy).await, Status::Ok);

    for token in [&legacy, &in_session] {
        let seen = std::cell::RefCell::new(Vec::new());
        let refused = eventually(10, || {
            let (a, seen) = (&a, &seen);
            async move {
                let status = a.me(token).await.status();
                seen.borrow_mut().push(status);
                status == Status::Unauthorized
            }
        })
        .await;
        let seen = seen.into_inner();
        assert!(!seen.contains(&Status::Ok), "A accepted it: {seen:?}");
        assert!(refused, "A never caught up: {seen:?}");
    }
}
