//! The throttles as an attacker would meet them: strangers cannot lock an owner out, IPv6
//! clients are counted by /64, sign-ups are limited per address, and a full argon2 queue sheds
//! load with 503 at once without counting as a failed login.

use std::time::{Duration, Instant};

use rocket::futures::future::join_all;
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::LocalResponse;
use rocket::serde::json::serde_json::json;

use crate::helpers::{error_code, set_cookies, TestApp, ADMIN, ADMIN_PASSWORD};

/// `POST /authenticate` from `remote`, with a `device` cookie when given.
pub async fn login<'a>(
    app: &'a TestApp,
    remote: &str,
    device: Option<&str>,
    username: &str,
    password: &str,
) -> LocalResponse<'a> {
    let body = json!({ "username": username, "password": password });
    let mut req = app
        .post_json("/authenticate", body)
        .remote(remote.parse().expect("socket address"));
    if let Some(device) = device {
        req = req.cookie(Cookie::new("device", device.to_owned()));
    }
    req.dispatch().await
}

/// The `device` cookie a response sets.
pub fn device_cookie(res: &LocalResponse<'_>) -> String {
    res.cookies()
        .get("device")
        .map(|c| c.value().to_owned())
        .expect("a successful login sets the device cookie")
}

/// Spends `user`'s untrusted budget (3 in these tests) with one wrong guess from each of
/// several addresses, and checks that a fresh address is now refused.
pub async fn lock_untrusted(app: &TestApp, user: &str) {
    for i in 0..3 {
        let res = login(
            app,
            &format!("203.0.113.{i}:4000"),
            None,
            user,
            "wrong-pass",
        )
        .await;
        assert_eq!(res.status(), Status::Unauthorized, "guess {i}");
    }
    let res = login(app, "203.0.113.99:4000", None, user, "wrong-pass").await;
    assert_eq!(res.status(), Status::TooManyRequests);
}

#[rocket::async_test]
async fn a_strangers_failures_from_many_addresses_do_not_stop_the_owner_who_logged_in_before() {
    let app = TestApp::spawn().await;
    let owner = "198.51.100.10:5000";
    let res = login(&app, owner, None, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::Ok);
    let device = device_cookie(&res);
    // 3 guesses from each of 10 addresses: past the username's untrusted budget (10) while
    // no address reaches its own limits.
    let mut refused = 0;
    for i in 0..10 {
        for _ in 0..3 {
            let remote = format!("203.0.113.{i}:4000");
            let res = login(&app, &remote, None, ADMIN, "wrong-password").await;
            assert_ne!(res.status(), Status::Ok);
            refused += usize::from(res.status() == Status::TooManyRequests);
        }
    }
    assert!(refused >= 20, "the untrusted path is locked: {refused}");
    // Untrusted, the owner is refused like anyone (the accepted trade-off) ...
    let res = login(&app, owner, None, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::TooManyRequests);
    // ... but the browser that logged in before still gets in.
    let res = login(&app, owner, Some(&device), ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn the_device_cookie_is_httponly_strict_for_the_login_route_and_lives_a_year() {
    let app = TestApp::spawn().await;
    let res = login(&app, "198.51.100.10:5000", None, ADMIN, ADMIN_PASSWORD).await;
    let cookies = set_cookies(&res);
    let device = cookies
        .iter()
        .find(|c| c.starts_with("device="))
        .expect("device cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/authenticate",
        "Max-Age=31536000",
    ] {
        assert!(device.contains(attribute), "{attribute} missing: {device}");
    }
    assert!(!device.contains(ADMIN_PASSWORD));
}

#[rocket::async_test]
async fn a_device_cookie_helps_only_its_own_username_and_an_altered_one_counts_as_none() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_untrusted_failures_per_user", 3))).await;
    let _ = app.sign_up("alice", "alice-password").await;
    let _ = app.sign_up("bob-the-user", "bob-password").await;
    let home = "198.51.100.20:5000";
    let res = login(&app, home, None, "alice", "alice-password").await;
    assert_eq!(res.status(), Status::Ok);
    let alices = device_cookie(&res);
    lock_untrusted(&app, "bob-the-user").await;
    let res = login(&app, home, Some(&alices), "bob-the-user", "bob-password").await;
    assert_eq!(
        res.status(),
        Status::TooManyRequests,
        "alice's cookie is not bob's"
    );
    lock_untrusted(&app, "alice").await;
    let (nonce, rest) = alices.split_once('.').expect("nonce.mac.username");
    let flipped = if nonce.starts_with('A') { "B" } else { "A" };
    let altered = format!("{flipped}{}.{rest}", &nonce[1..]);
    let res = login(&app, home, Some(&altered), "alice", "alice-password").await;
    assert_eq!(
        res.status(),
        Status::TooManyRequests,
        "an altered cookie is none"
    );
    let forged = format!("{nonce}.{}.alice", "A".repeat(43));
    let res = login(&app, home, Some(&forged), "alice", "alice-password").await;
    assert_eq!(
        res.status(),
        Status::TooManyRequests,
        "a forged cookie is none"
    );
    let res = login(&app, home, Some(&alices), "alice", "alice-password").await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_device_cookie_that_fails_too_often_is_locked_for_the_window() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_user", 3))).await;
    let home = "198.51.100.30:5000";
    let res = login(&app, home, None, ADMIN, ADMIN_PASSWORD).await;
    let device = device_cookie(&res);
    for i in 0..3 {
        let res = login(&app, home, Some(&device), ADMIN, "wrong-password").await;
        assert_eq!(res.status(), Status::Unauthorized, "attempt {i}");
    }
    let res = login(&app, home, Some(&device), ADMIN, ADMIN_PASSWORD).await;
    let retry: u64 = res
        .headers()
        .get_one("Retry-After")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=300).contains(&retry), "{retry}");
    assert_eq!(
        error_code(res, Status::TooManyRequests).await,
        "too_many_requests"
    );
    // The device's lockout is its own: the untrusted path from elsewhere is untouched.
    let res = login(&app, "198.51.100.31:5000", None, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn addresses_in_one_ipv6_64_share_a_budget_and_another_64_does_not() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_failures_per_ip", 3))).await;
    let same_64 = [
        "[2001:db8:0:1::1]:4000",
        "[2001:db8:0:1::2]:4000",
        "[2001:db8:0:1:ffff:ffff:ffff:ffff]:4000",
    ];
    for (i, remote) in same_64.iter().enumerate() {
        let res = login(&app, remote, None, &format!("guess{i}"), "wrong-password").await;
        assert_eq!(res.status(), Status::Unauthorized, "{remote}");
    }
    let res = login(
        &app,
        "[2001:db8:0:1::abcd]:4000",
        None,
        ADMIN,
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(res.status(), Status::TooManyRequests);
    let res = login(&app, "[2001:db8:0:2::1]:4000", None, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn sign_ups_are_limited_per_address_with_retry_after() {
    let app = TestApp::spawn_with(|f| f.merge(("signup_max_per_ip", 3))).await;
    let sign_up = |remote: &'static str, username: &'static str| {
        let body = json!({ "username": username, "password": "a-good-password" });
        app.post_json("/api/users", body)
            .remote(remote.parse().expect("socket address"))
            .dispatch()
    };
    let flood = "192.0.2.50:4000";
    // Every attempt counts, whatever its outcome.
    assert_eq!(sign_up(flood, "user-1").await.status(), Status::Created);
    assert_eq!(
        sign_up(flood, "x").await.status(),
        Status::UnprocessableEntity
    );
    assert_eq!(sign_up(flood, "user-1").await.status(), Status::Conflict);
    let res = sign_up(flood, "user-2").await;
    assert!(res.headers().get_one("Retry-After").is_some());
    assert_eq!(res.status(), Status::TooManyRequests);
    let body = crate::helpers::json_body(res).await;
    assert_eq!(body["error"], "too_many_requests");
    // It says what happened: every sign-up counts, not only failed ones.
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("too many sign-ups"), "{message}");
    assert!(!message.contains("failed"), "{message}");
    assert_eq!(
        sign_up("192.0.2.51:4000", "user-2").await.status(),
        Status::Created
    );
}

#[rocket::async_test]
async fn password_change_failures_do_not_lock_the_owners_login() {
    let app = TestApp::spawn().await;
    let (jwt, _) = app.user_session("alice").await;
    let mut refused = 0;
    for _ in 0..10 {
        let body =
            json!({ "current_password": "wrong-password", "new_password": "new-password-1" });
        let req = app
            .post_json("/api/password", body)
            .remote("192.0.2.60:4000".parse().expect("addr"));
        let res = app.with_cookie(req, &jwt).dispatch().await;
        refused += usize::from(res.status() == Status::TooManyRequests);
    }
    assert_eq!(refused, 5, "the session is throttled after 5 failures");
    let res = login(&app, "192.0.2.61:4000", None, "alice", "alice-password").await;
    assert_eq!(res.status(), Status::Ok);
}

/// Sends `n` requests at once; returns each one's status, `Retry-After` and latency.
async fn at_once<'a>(
    requests: impl Iterator<Item = rocket::local::asynchronous::LocalRequest<'a>>,
) -> Vec<(Status, Option<String>, Duration)> {
    join_all(requests.map(|req| async move {
        let start = Instant::now();
        let res = req.dispatch().await;
        let retry = res.headers().get_one("Retry-After").map(str::to_owned);
        (res.status(), retry, start.elapsed())
    }))
    .await
}

/// Checks a burst's answers: some succeeded with `ok`, some were shed with 503 and
/// `Retry-After` well before the hashing finished, nothing else. Returns (successes, shed).
fn shed_at_once(results: &[(Status, Option<String>, Duration)], ok: Status) -> (usize, usize) {
    let mut counts = (0, 0);
    for (status, retry, latency) in results {
        if *status == ok {
            counts.0 += 1;
        } else {
            assert_eq!(*status, Status::ServiceUnavailable, "{results:?}");
            assert_eq!(retry.as_deref(), Some("1"), "{results:?}");
            assert!(*latency < Duration::from_secs(2), "{results:?}");
            counts.1 += 1;
        }
    }
    assert!(counts.0 >= 1 && counts.1 >= 1, "{results:?}");
    counts
}

#[rocket::async_test]
async fn a_full_password_queue_sheds_logins_with_503_at_once_and_they_are_not_failures() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("password_threads", 1))
            .merge(("password_queue", 1))
            .merge(("login_max_failures_per_user", 12))
            .merge(("login_max_untrusted_failures_per_user", 100))
    })
    .await;
    let burst = (0..12).map(|_| {
        let body = json!({ "username": ADMIN, "password": "wrong-password" });
        app.post_json("/authenticate", body)
    });
    let results = at_once(burst).await;
    let (judged, shed) = shed_at_once(&results, Status::Unauthorized);
    // Only the judged attempts counted: the budget of 12 has exactly 12 - judged left.
    let mut left = 0;
    loop {
        let status = app.login(ADMIN, "wrong-password").await.status();
        if status == Status::TooManyRequests {
            break;
        }
        assert_eq!(status, Status::Unauthorized);
        left += 1;
        assert!(left <= 12, "the throttle never engaged");
    }
    assert_eq!(
        left,
        12 - judged,
        "{shed} shed attempts were counted as failures"
    );
}

#[rocket::async_test]
async fn a_sign_up_flood_is_shed_with_503_at_once_and_never_500() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("password_threads", 1))
            .merge(("password_queue", 1))
    })
    .await;
    let burst = (0..12).map(|i| {
        let body = json!({ "username": format!("flood-{i}"), "password": "a-good-password" });
        app.post_json("/api/users", body)
    });
    let results = at_once(burst).await;
    shed_at_once(&results, Status::Created);
    // The server is not wedged: once the burst is over, a sign-up goes through.
    assert_eq!(
        app.sign_up("after-flood", "a-good-password").await.status(),
        Status::Created
    );
}
