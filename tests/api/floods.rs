//! One client cannot deny logins to everyone: its password checks in flight are capped well
//! below the hashing queue, its logins are counted whatever their outcome, and the sessions an
//! account can hold are capped.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rocket::futures::future::join_all;
use rocket::http::Status;

use crate::helpers::{json_body, jwt_cookie, TestApp};
use crate::throttle::login;

const FLOODER: &str = "203.0.113.66";
const VICTIM: &str = "198.51.100.77:5000";

#[rocket::async_test]
async fn a_flood_of_correct_logins_from_one_address_leaves_another_addresses_logins_working() {
    // One argon2 thread and a short queue: easy to fill for a client that is not capped.
    let app = TestApp::spawn_with(|f| {
        f.merge(("password_threads", 1))
            .merge(("password_queue", 8))
            .merge(("login_max_per_ip", 100_000))
    })
    .await;
    let accounts: Vec<String> = (0..6).map(|i| format!("flood{i}")).collect();
    for name in &accounts {
        assert_eq!(
            app.sign_up(name, "flood-password").await.status(),
            Status::Created
        );
    }
    let _ = app.sign_up("victim", "victim-password").await;
    let done = AtomicBool::new(false);
    let (ok, throttled, busy) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    // Six accounts times five connections, from one address, until the victim is through.
    let flood = join_all(
        accounts
            .iter()
            .flat_map(|name| (0..5).map(move |c| (name, c)))
            .map(|(name, c)| {
                let (done, ok, throttled, busy) = (&done, &ok, &throttled, &busy);
                let app = &app;
                async move {
                    let remote = format!("{FLOODER}:{}", 6000 + c);
                    while !done.load(Ordering::SeqCst) {
                        let res = login(app, &remote, None, name, "flood-password").await;
                        let status = res.status();
                        let counter = match status {
                            Status::Ok => ok,
                            Status::TooManyRequests => throttled,
                            Status::ServiceUnavailable => busy,
                            other => panic!("the flood got {other}"),
                        };
                        counter.fetch_add(1, Ordering::SeqCst);
                        if status == Status::TooManyRequests {
                            // Retried at once, thirty connections would only measure how fast
                            // a debug build answers 429 in-process (and starve this task);
                            // every 50 ms still keeps the address's slots full at all times.
                            rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                }
            }),
    );
    let victim = async {
        let mut answers = Vec::new();
        for _ in 0..10 {
            let res = login(&app, VICTIM, None, "victim", "victim-password").await;
            answers.push(res.status());
        }
        done.store(true, Ordering::SeqCst);
        answers
    };
    let (_, answers) = rocket::tokio::join!(flood, victim);
    assert_eq!(answers, vec![Status::Ok; 10], "the victim's logins");
    assert!(
        throttled.load(Ordering::SeqCst) > 0,
        "the flood was never capped"
    );
    assert_eq!(busy.load(Ordering::SeqCst), 0, "the flood filled the queue");
    assert!(ok.load(Ordering::SeqCst) > 0);
}

#[rocket::async_test]
async fn every_login_of_an_address_counts_even_with_the_right_password() {
    let app = TestApp::spawn_with(|f| f.merge(("login_max_per_ip", 5))).await;
    let _ = app.sign_up("eve", "eve-password").await;
    for i in 0..5 {
        let res = login(&app, "203.0.113.5:4000", None, "eve", "eve-password").await;
        assert_eq!(res.status(), Status::Ok, "login {i}");
    }
    let res = login(&app, "203.0.113.5:4000", None, "eve", "eve-password").await;
    assert!(res.headers().get_one("Retry-After").is_some());
    assert_eq!(res.status(), Status::TooManyRequests);
    let body = json_body(res).await;
    assert_eq!(body["error"], "too_many_requests");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("too many logins from this address"),
        "{message}"
    );
    let res = login(&app, "203.0.113.6:4000", None, "eve", "eve-password").await;
    assert_eq!(res.status(), Status::Ok, "another address");
}

#[rocket::async_test]
async fn a_login_past_max_sessions_per_user_ends_the_accounts_oldest_session() {
    let app = TestApp::spawn_with(|f| f.merge(("max_sessions_per_user", 3))).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(app.user_token("many").await);
    }
    for (i, token) in tokens.iter().enumerate() {
        let expected = if i < 2 {
            Status::Unauthorized
        } else {
            Status::Ok
        };
        assert_eq!(app.me(token).await.status(), expected, "session {i}");
    }
    let res = app
        .with_cookie(app.client.get("/api/sessions"), &tokens[4])
        .dispatch()
        .await;
    let listed = json_body(res).await["items"].as_array().map(Vec::len);
    assert_eq!(listed, Some(3));
    assert!(jwt_cookie(&app.login("many", "many-password").await).is_some());
}
