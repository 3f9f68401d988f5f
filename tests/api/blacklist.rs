//! `POST /blacklist/logout`, `GET /blacklist`, `POST /blacklist/purge`.

use jwt_blacklist::db::blacklist::{self, Entry};
use jwt_blacklist::db::to_db_time;
use rocket::futures::future::join_all;
use rocket::http::{Header, Status};
use rocket::serde::json::serde_json::json;
use time::OffsetDateTime;

use crate::helpers::{claims, error_code, forge, json_body, set_cookies, TestApp, TestDb};

/// Both cookies are cleared, each with the name, path and attributes it was set with.
pub fn assert_clears_cookie(cookies: &[String]) {
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let jwt = cookies
        .iter()
        .find(|c| c.starts_with("jwt=;"))
        .unwrap_or_else(|| panic!("jwt not cleared: {cookies:?}"));
    for attr in ["Max-Age=0", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(
            jwt.split("; ").any(|a| a == attr),
            "{attr} missing from {jwt}"
        );
    }
    let refresh = cookies
        .iter()
        .find(|c| c.starts_with("refresh=;"))
        .unwrap_or_else(|| panic!("refresh not cleared: {cookies:?}"));
    for attr in ["Max-Age=0", "Path=/refresh", "HttpOnly", "SameSite=Strict"] {
        assert!(
            refresh.split("; ").any(|a| a == attr),
            "{attr} missing from {refresh}"
        );
    }
}

#[rocket::async_test]
async fn logout_commits_the_jti_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    let jti = json_body(app.me(&token).await).await["jti"]
        .as_str()
        .expect("jti")
        .to_owned();
    let res = app.logout(Some(&token)).await;
    assert_eq!(res.status(), Status::Ok);
    assert_clears_cookie(&set_cookies(&res));
    assert!(
        app.row_exists(&jti).await,
        "the row is there as soon as the answer is"
    );
    assert_eq!(app.me(&token).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_second_logout_with_the_same_token_adds_no_row() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    assert_eq!(app.logout(Some(&token)).await.status(), Status::Ok);
    let again = app.logout(Some(&token)).await;
    assert_eq!(again.status(), Status::Ok);
    assert_clears_cookie(&set_cookies(&again));
    assert_eq!(app.row_count().await, 1);
}

#[rocket::async_test]
async fn logout_without_a_valid_token_still_clears_the_cookie() {
    let app = TestApp::spawn().await;
    for token in [None, Some("garbage"), Some("")] {
        let res = app.logout(token).await;
        assert_eq!(res.status(), Status::Ok);
        assert_clears_cookie(&set_cookies(&res));
    }
    assert_eq!(app.row_count().await, 0);
}

/// `POST /blacklist/logout` carrying `bearer` in `Authorization` and `cookie` as the `jwt` cookie.
async fn logout_with_both<'c>(
    app: &'c TestApp,
    bearer: &str,
    cookie: &str,
) -> rocket::local::asynchronous::LocalResponse<'c> {
    let req = app
        .client
        .post("/blacklist/logout")
        .header(Header::new("Authorization", format!("Bearer {bearer}")));
    app.with_cookie(req, cookie).dispatch().await
}

#[rocket::async_test]
async fn logout_with_a_stale_bearer_header_still_revokes_the_cookies_token() {
    let app = TestApp::spawn().await;
    let revoked = app.user_token("alice").await;
    assert_eq!(app.logout(Some(&revoked)).await.status(), Status::Ok);
    let mut expired = claims("alice", "user");
    expired["iat"] = json!(OffsetDateTime::now_utc().unix_timestamp() - 7200);
    expired["exp"] = json!(OffsetDateTime::now_utc().unix_timestamp() - 3600);
    let stale = [
        ("a revoked token", revoked),
        ("an expired token", forge(&expired)),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (what, bearer) in stale {
        let cookie = app.user_token("alice").await;
        let res = logout_with_both(&app, &bearer, &cookie).await;
        assert_eq!(res.status(), Status::Ok, "{what}");
        assert_clears_cookie(&set_cookies(&res));
        assert_eq!(json_body(res).await["logged_out"], true, "{what}");
        assert_eq!(
            app.me(&cookie).await.status(),
            Status::Unauthorized,
            "with {what} as bearer, the cookie's token is refused as a cookie"
        );
        assert_eq!(
            app.me_bearer(&cookie).await.status(),
            Status::Unauthorized,
            "with {what} as bearer, the cookie's token is refused as a bearer"
        );
    }
}

#[rocket::async_test]
async fn logout_with_a_valid_bearer_and_a_valid_cookie_revokes_both() {
    let app = TestApp::spawn().await;
    // Two sessions of one user, then the tokens of two users: this client held both.
    for (bearer_user, cookie_user) in [("alice", "alice"), ("carol", "dave")] {
        let bearer = app.user_token(bearer_user).await;
        let cookie = app.user_token(cookie_user).await;
        let mut jtis = Vec::new();
        for token in [&bearer, &cookie] {
            jtis.push(json_body(app.me(token).await).await["jti"].clone());
        }
        let res = logout_with_both(&app, &bearer, &cookie).await;
        assert_eq!(res.status(), Status::Ok);
        for token in [&bearer, &cookie] {
            assert_eq!(app.me(token).await.status(), Status::Unauthorized);
            assert_eq!(app.me_bearer(token).await.status(), Status::Unauthorized);
        }
        for jti in jtis {
            assert!(app.row_exists(jti.as_str().expect("jti")).await, "{jti}");
        }
    }
}

#[rocket::async_test]
async fn fifty_concurrent_logouts_of_distinct_tokens_all_land() {
    let app = TestApp::spawn().await;
    let tokens: Vec<String> = (0..50)
        .map(|i| forge(&claims(&format!("user{i}"), "user")))
        .collect();
    let responses = join_all(tokens.iter().map(|t| app.logout(Some(t)))).await;
    assert!(responses.iter().all(|r| r.status() == Status::Ok));
    drop(responses);
    assert_eq!(app.row_count().await, 50);
    for t in &tokens {
        assert_eq!(app.me(t).await.status(), Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn the_blacklist_survives_a_restart_on_the_same_database() {
    let first = TestApp::spawn().await;
    let token = first.user_token("alice").await;
    assert_eq!(first.logout(Some(&token)).await.status(), Status::Ok);
    let TestApp { client, db } = first;
    client.terminate().await;
    let second = TestApp::spawn_on(db, |f| f).await;
    assert_eq!(second.me(&token).await.status(), Status::Unauthorized);
    assert_eq!(second.row_count().await, 1);
}

#[rocket::async_test]
async fn admins_list_the_blacklist_with_and_without_a_trailing_slash() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    let jti = json_body(app.me(&token).await).await["jti"].clone();
    app.logout(Some(&token)).await;
    let admin = app.admin_token().await;
    for uri in ["/blacklist", "/blacklist/"] {
        let res = app.blacklist(&admin, uri).await;
        assert_eq!(res.status(), Status::Ok, "{uri}");
        let body = json_body(res).await;
        assert_eq!(body["total"], 1);
        let item = &body["items"][0];
        assert_eq!(item["jti"], jti);
        assert_eq!(item["username"], "alice");
        assert!(item["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
        assert!(item["blacklisted_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')));
    }
}

#[rocket::async_test]
async fn the_listing_is_newest_first_and_pages_stably() {
    let app = TestApp::spawn().await;
    for i in 0..7 {
        app.logout(Some(&forge(&claims(&format!("user{i}"), "user"))))
            .await;
    }
    let admin = app.admin_token().await;
    let all = json_body(app.blacklist(&admin, "/blacklist?limit=1000").await).await;
    let items = all["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 7);
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["blacklisted_at"].as_str().unwrap_or_default().to_owned(),
                i["jti"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(keys, sorted, "newest first, ties by jti");
    let mut paged = Vec::new();
    for offset in (0..7).step_by(3) {
        let page = json_body(
            app.blacklist(&admin, &format!("/blacklist?limit=3&offset={offset}"))
                .await,
        )
        .await;
        assert_eq!(page["total"], 7);
        paged.extend(page["items"].as_array().expect("items").clone());
    }
    assert_eq!(paged, items);
}

#[rocket::async_test]
async fn bad_paging_parameters_are_unprocessable() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for q in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "offset=-1",
        "offset=1e3",
        "offset=null&offset=null",
        "offset=1&offset=null",
        "limit=5&limit=6",
    ] {
        let res = app.blacklist(&admin, &format!("/blacklist?{q}")).await;
        assert_eq!(
            error_code(res, Status::UnprocessableEntity).await,
            "unprocessable_entity",
            "{q}"
        );
    }
}

#[rocket::async_test]
async fn the_listing_needs_a_token_and_the_admin_role() {
    let app = TestApp::spawn().await;
    let res = app.client.get("/blacklist").dispatch().await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    let user = app.user_token("alice").await;
    let res = app.blacklist(&user, "/blacklist").await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    let res = app
        .blacklist(&forge(&claims("mallory", "user")), "/blacklist/")
        .await;
    assert_eq!(res.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn purge_removes_only_rows_expired_beyond_the_leeway() {
    let app = TestApp::spawn().await;
    let long_gone = app.insert_row(-60).await;
    let in_leeway = app.insert_row(-2).await;
    let live = app.insert_row(3600).await;
    let res = app.purge(&app.admin_token().await).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(json_body(res).await, json!({ "purged": 1 }));
    assert!(!app.row_exists(&long_gone).await);
    assert!(
        app.row_exists(&in_leeway).await,
        "a token the validator still accepts keeps its row"
    );
    assert!(app.row_exists(&live).await);
}

#[rocket::async_test]
async fn purge_works_through_many_batches() {
    let app = TestApp::spawn_with(|f| f.merge(("purge_batch_size", 7))).await;
    for _ in 0..40 {
        app.insert_row(-60).await;
    }
    let live = app.insert_row(3600).await;
    let res = app.purge(&app.admin_token().await).await;
    assert_eq!(json_body(res).await, json!({ "purged": 40 }));
    assert_eq!(app.row_count().await, 1);
    assert!(app.row_exists(&live).await);
}

#[rocket::async_test]
async fn purge_needs_a_token_and_the_admin_role() {
    let app = TestApp::spawn().await;
    let expired = app.insert_row(-60).await;
    let res = app.client.post("/blacklist/purge").dispatch().await;
    assert_eq!(error_code(res, Status::Unauthorized).await, "unauthorized");
    let res = app.purge(&app.user_token("alice").await).await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");
    assert!(app.row_exists(&expired).await);
}

#[rocket::async_test]
async fn logout_answers_503_and_keeps_the_cookie_when_the_write_fails() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    app.break_the_blacklist_table().await;
    let res = app.logout(Some(&token)).await;
    assert!(
        set_cookies(&res).is_empty(),
        "a failed logout must not pretend to succeed"
    );
    assert_eq!(
        error_code(res, Status::ServiceUnavailable).await,
        "service_unavailable"
    );
}

#[rocket::async_test]
async fn test_databases_are_isolated() {
    let a = TestApp::spawn_on(TestDb::new(), |f| f).await;
    let b = TestApp::spawn_on(TestDb::new(), |f| f).await;
    a.insert_row(60).await;
    assert_eq!(b.row_count().await, 0);
}

#[rocket::async_test]
async fn rows_blacklisted_at_the_same_instant_are_ordered_by_jti() {
    let app = TestApp::spawn().await;
    let at = to_db_time(OffsetDateTime::now_utc());
    let mut jtis: Vec<String> = (0..5).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let rows: Vec<Entry> = jtis
        .iter()
        .map(|jti| Entry {
            jti: jti.clone(),
            username: "u".into(),
            expires_at: at,
            blacklisted_at: at,
        })
        .collect();
    app.pool()
        .run(move |conn| {
            rows.iter()
                .try_for_each(|r| blacklist::insert_ignore(conn, r).map(drop))
        })
        .await
        .expect("insert");
    let admin = app.admin_token().await;
    let mut listed = Vec::new();
    for offset in [0, 2, 4] {
        let uri = format!("/blacklist?limit=2&offset={offset}");
        let body = json_body(app.blacklist(&admin, &uri).await).await;
        let items = body["items"].as_array().expect("items");
        listed.extend(
            items
                .iter()
                .map(|i| i["jti"].as_str().unwrap_or_default().to_owned()),
        );
    }
    jtis.sort();
    assert_eq!(listed, jtis);
}

#[rocket::async_test]
async fn the_listing_defaults_to_100_items() {
    let app = TestApp::spawn().await;
    for _ in 0..105 {
        app.insert_row(3600).await;
    }
    let body = json_body(app.blacklist(&app.admin_token().await, "/blacklist").await).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(100));
    assert_eq!(body["total"], 105);
}

#[rocket::async_test]
async fn the_hourly_counts_cover_the_last_day_and_outlive_the_purge() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.user_token("alice").await;
    let res = app
        .with_cookie(app.client.get("/blacklist/hourly"), &user)
        .dispatch()
        .await;
    assert_eq!(error_code(res, Status::Forbidden).await, "forbidden");

    let before = json_body(app.blacklist(&admin, "/blacklist/hourly").await).await;
    let hours = before["hours"].as_array().expect("hours").clone();
    assert_eq!(hours.len(), 24);
    assert!(hours.iter().all(|h| h["revoked"] == 0), "{before}");
    let times: Vec<OffsetDateTime> = hours
        .iter()
        .map(|h| {
            OffsetDateTime::parse(
                h["hour"].as_str().expect("hour"),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("RFC 3339")
        })
        .collect();
    assert!(times
        .windows(2)
        .all(|w| w[1] - w[0] == time::Duration::hours(1)));
    let now = OffsetDateTime::now_utc();
    assert!(times[23] <= now && now - times[23] < time::Duration::hours(1));

    // A logout (its token id and its session) is one revocation; a logout everywhere ending
    // two sessions is one more; a logout without a token revokes nothing.
    let (token, _) = app.user_session("bob").await;
    assert_eq!(app.logout(Some(&token)).await.status(), Status::Ok);
    let _ = app.user_session("carol").await;
    let (carols, _) = app.user_session("carol").await;
    let res = app
        .authed(rocket::http::Method::Post, "/blacklist/logout-all", &carols)
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(app.logout(None).await.status(), Status::Ok);
    let after = json_body(app.blacklist(&admin, "/blacklist/hourly").await).await;
    assert_eq!(after["hours"][23]["revoked"], 2, "{after}");

    // The purge deletes rows of expired tokens, not the counts.
    assert_eq!(app.purge(&admin).await.status(), Status::Ok);
    let kept = json_body(app.blacklist(&admin, "/blacklist/hourly").await).await;
    assert_eq!(kept["hours"][23]["revoked"], 2, "{kept}");
}

#[rocket::async_test]
async fn logouts_repeated_at_once_record_each_token_and_session_once() {
    // Sent together, the logouts share commit groups (on PostgreSQL, one statement each): a
    // token logged out four times at once is still one row, one event and one revocation.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(app.user_session(&format!("twice{i}")).await.0);
    }
    let repeated: Vec<&String> = tokens.iter().cycle().take(tokens.len() * 4).collect();
    let responses = join_all(repeated.iter().map(|t| app.logout(Some(t)))).await;
    assert!(responses.iter().all(|r| r.status() == Status::Ok));
    drop(responses);
    assert_eq!(app.row_count().await, 8);
    for token in &tokens {
        assert_eq!(app.me(token).await.status(), Status::Unauthorized);
    }
    let res = app.blacklist(&admin, "/audit?kind=logout&limit=1000").await;
    let events = json_body(res).await["items"].as_array().map(Vec::len);
    assert_eq!(events, Some(8), "one logout event per token");
    let hourly = json_body(app.blacklist(&admin, "/blacklist/hourly").await).await;
    let revoked: i64 = hourly["hours"]
        .as_array()
        .expect("hours")
        .iter()
        .filter_map(|h| h["revoked"].as_i64())
        .sum();
    assert_eq!(revoked, 8, "{hourly}");
    let res = app
        .blacklist(&admin, "/audit?kind=session.ended&limit=1000")
        .await;
    assert_eq!(
        json_body(res).await["items"].as_array().map(Vec::len),
        Some(0)
    );
}
