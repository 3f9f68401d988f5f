//! Property tests: arbitrary and forged input to the guard and the handlers, as an attacker
//! would send it. Whatever comes in, the server never answers 5xx (a panic in a guard or a
//! handler is a 500), every 4xx is the JSON error envelope, and a guarded route never accepts
//! a token that the server did not sign.
//!
//! Each property is its own test on its own server and database. Cases per property: the
//! numbers below, or `PROPTEST_CASES`; failures are not persisted (proptest prints the minimal
//! failing input and its seed instead; `PROPTEST_RNG_SEED` replays a run).

mod strategies;
mod tcp;

use std::future::Future;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::asynchronous::{LocalRequest, LocalResponse};
use rocket::serde::json::serde_json;
use serde_json::{json, Value};

use crate::helpers::{forge, refresh_cookie, TestApp};
use strategies::{guarded, Carrier, Forgery};

/// A server on a fresh database, with its own runtime: proptest's runner is synchronous, and
/// runs each case to completion on this runtime.
struct Fuzz {
    // Declared first so that the server is dropped while its runtime still exists.
    app: TestApp,
    rt: rocket::tokio::runtime::Runtime,
}

impl Fuzz {
    fn new() -> Self {
        let rt = runtime();
        let app = rt.block_on(TestApp::spawn());
        Self { app, rt }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn check<S>(
        &self,
        cases: u32,
        strategy: S,
        test: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) where
        S: Strategy,
        S::Value: std::fmt::Debug,
    {
        check(cases, strategy, test)
    }
}

fn runtime() -> rocket::tokio::runtime::Runtime {
    rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Runs `test` on `cases` inputs from `strategy` (or `PROPTEST_CASES`), shrinking a failure
/// for at most 30 s, and panics with the minimal failing input.
fn check<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config.failure_persistence = None;
    config.max_shrink_time = 30_000;
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, test) {
        panic!("{failure}");
    }
}

/// A request carrying `token` the way `carrier` says.
fn carrying<'c>(req: LocalRequest<'c>, carrier: Carrier, token: &str) -> LocalRequest<'c> {
    match carrier {
        Carrier::Cookie => req.cookie(Cookie::new("jwt", token.to_owned())),
        Carrier::Authorization(scheme) => {
            req.header(Header::new("Authorization", format!("{scheme}{token}")))
        }
        Carrier::Both => req
            .cookie(Cookie::new("jwt", token.to_owned()))
            .header(Header::new("Authorization", format!("Bearer {token}"))),
    }
}

/// The answer's status and body, after checking what every answer must be: never a 5xx, and
/// on a 4xx exactly `{"error": "<code>", "message": "<text>"}` as JSON.
async fn sound(res: LocalResponse<'_>) -> Result<(Status, String), TestCaseError> {
    let status = res.status();
    let is_json = res.content_type() == Some(ContentType::JSON);
    let text = res.into_string().await.unwrap_or_default();
    prop_assert!(status.code < 500, "a server error: {status} {text}");
    if status.code >= 400 {
        prop_assert!(is_json, "a {status} that is not JSON: {text}");
        let body: Value = serde_json::from_str(&text).map_err(|e| {
            TestCaseError::fail(format!("a {status} body is not JSON ({e}): {text}"))
        })?;
        let envelope = body["error"].as_str().is_some_and(|c| !c.is_empty())
            && body["message"].as_str().is_some_and(|m| !m.is_empty())
            && body.as_object().map(|o| o.len()) == Some(2);
        prop_assert!(envelope, "a {status} without the envelope: {text}");
    }
    Ok((status, text))
}

/// Sends `token` (one the server did not sign, or revoked) to every guarded route and to
/// logout: never a 2xx on a guarded route, and logout says nothing was logged out.
async fn refused_everywhere(
    app: &TestApp,
    carrier: Carrier,
    token: &str,
    logout_may_revoke: bool,
) -> Result<(), TestCaseError> {
    for (method, uri) in guarded(app.client.rocket()) {
        let req = carrying(app.client.req(method, uri.clone()), carrier, token);
        let (status, text) = sound(req.dispatch().await).await?;
        prop_assert!(
            !(200..300).contains(&status.code),
            "{method} {uri} accepted a token the server did not sign ({status}): {text}"
        );
    }
    let req = carrying(app.client.post("/blacklist/logout"), carrier, token);
    let (status, text) = sound(req.dispatch().await).await?;
    if status == Status::Ok && !logout_may_revoke {
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        prop_assert_eq!(
            &body["logged_out"],
            &json!(false),
            "logout took it: {}",
            text
        );
    }
    Ok(())
}

#[test]
fn arbitrary_text_as_a_token_is_refused_by_every_guarded_route() {
    let fuzz = Fuzz::new();
    let strategy = (strategies::carrier(), strategies::token_text());
    fuzz.check(128, strategy, |(carrier, token)| {
        fuzz.block_on(refused_everywhere(&fuzz.app, carrier, &token, false))
    });
}

#[test]
fn forged_tampered_truncated_and_revoked_tokens_are_never_accepted() {
    let fuzz = Fuzz::new();
    let (user, admin, revoked) = fuzz.block_on(async {
        let app = &fuzz.app;
        let revoked = app.user_token("fuzz-revoked").await;
        assert_eq!(app.logout(Some(&revoked)).await.status(), Status::Ok);
        (
            app.user_token("fuzz-user").await,
            app.admin_token().await,
            revoked,
        )
    });
    let real = [user.as_str(), admin.as_str()];
    fuzz.check(
        256,
        (strategies::carrier(), strategies::forgery()),
        |(carrier, forgery)| {
            let token = match &forgery {
                Forgery::Revoked => revoked.clone(),
                other => other.build(&real),
            };
            // Logout may revoke what is correctly signed: a revoked token (again).
            let signed = matches!(forgery, Forgery::Revoked);
            fuzz.block_on(refused_everywhere(&fuzz.app, carrier, &token, signed))
        },
    );
    // The real tokens still work: the refusals above were about the forgeries, not the server.
    fuzz.block_on(async {
        assert_eq!(fuzz.app.me(&user).await.status(), Status::Ok);
        assert_eq!(fuzz.app.me(&admin).await.status(), Status::Ok);
    });
}

#[test]
fn correctly_signed_tokens_with_arbitrary_claims_never_cause_a_server_error() {
    let fuzz = Fuzz::new();
    fuzz.check(
        128,
        (strategies::carrier(), strategies::claims()),
        |(carrier, claims)| {
            let token = forge(&claims);
            fuzz.block_on(async {
                let logout = (Method::Post, "/blacklist/logout".to_owned());
                for (method, uri) in guarded(fuzz.app.client.rocket())
                    .into_iter()
                    .chain([logout])
                {
                    let req = carrying(fuzz.app.client.req(method, uri.clone()), carrier, &token);
                    sound(req.dispatch().await).await?;
                }
                Ok(())
            })
        },
    );
}

/// A body sent to one of the routes that read one, as `session` (none, a user, the admin).
async fn post_body(
    fuzz: &Fuzz,
    tokens: &[Option<String>; 3],
    (route, session, json_type): (usize, usize, bool),
    body: Vec<u8>,
) -> Result<(), TestCaseError> {
    let (method, uri) = strategies::BODY_ROUTES[route];
    let mut req = fuzz.app.client.req(method, uri).body(body);
    if json_type {
        req = req.header(ContentType::JSON);
    }
    if let Some(token) = &tokens[session] {
        req = req.cookie(Cookie::new("jwt", token.clone()));
    }
    sound(req.dispatch().await).await.map(drop)
}

fn sessions(fuzz: &Fuzz) -> [Option<String>; 3] {
    fuzz.block_on(async {
        let app = &fuzz.app;
        let _ = app.sign_up("fuzz-target", "fuzz-target-password").await;
        [
            None,
            Some(app.user_token("fuzz-user").await),
            Some(app.admin_token().await),
        ]
    })
}

#[test]
fn arbitrary_bytes_as_a_body_get_a_json_error_never_a_server_error() {
    let fuzz = Fuzz::new();
    let tokens = sessions(&fuzz);
    let strategy = (strategies::body_target(), strategies::body_bytes());
    fuzz.check(128, strategy, |(target, body)| {
        fuzz.block_on(post_body(&fuzz, &tokens, target, body))
    });
}

#[test]
fn arbitrary_json_as_a_body_never_causes_a_server_error() {
    let fuzz = Fuzz::new();
    let tokens = sessions(&fuzz);
    fuzz.check(128, strategies::json_target_and_body(), |(target, body)| {
        fuzz.block_on(post_body(
            &fuzz,
            &tokens,
            target,
            body.to_string().into_bytes(),
        ))
    });
}

#[test]
fn arbitrary_path_segments_never_cause_a_server_error() {
    let fuzz = Fuzz::new();
    let tokens = sessions(&fuzz);
    let strategy = (
        0..strategies::PATH_ROUTES.len(),
        1..3usize,
        strategies::path_segment(),
    );
    fuzz.check(128, strategy, |(route, session, segment)| {
        let (method, template) = strategies::PATH_ROUTES[route];
        let uri = template.replace("{}", &segment);
        fuzz.block_on(async {
            let mut req = fuzz.app.client.req(method, uri);
            if let Some(token) = &tokens[session] {
                req = req.cookie(Cookie::new("jwt", token.clone()));
            }
            if method == Method::Patch {
                req = req.header(ContentType::JSON).body(r#"{"role":"user"}"#);
            }
            sound(req.dispatch().await).await.map(drop)
        })
    });
}

#[test]
fn an_arbitrary_or_tampered_refresh_cookie_is_refused_never_a_server_error() {
    let fuzz = Fuzz::new();
    let real = fuzz.block_on(async {
        let res = fuzz
            .app
            .login(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
            .await;
        refresh_cookie(&res).expect("login sets the refresh cookie")
    });
    let strategy = prop_oneof![strategies::token_text(), strategies::tampered(real.clone()),];
    fuzz.check(128, strategy, |presented| {
        fuzz.block_on(async {
            let (status, text) = sound(fuzz.app.refresh(&presented).await).await?;
            prop_assert!(
                presented == real || !(200..300).contains(&status.code),
                "a refresh token the server did not issue was accepted ({status}): {text}"
            );
            Ok(())
        })
    });
}

#[rocket::async_test]
async fn the_guarded_list_is_every_mounted_route_but_the_public_ones() {
    let app = TestApp::spawn().await;
    let mounted: Vec<(Method, String)> = app
        .client
        .rocket()
        .routes()
        .map(|r| (r.method, r.uri.path().to_string()))
        .collect();
    for (method, path) in strategies::PUBLIC {
        assert!(
            mounted.contains(&(*method, (*path).to_owned())),
            "{method} {path} is listed as public but not mounted"
        );
    }
    let guarded = guarded(app.client.rocket());
    for (method, uri) in [
        (Method::Get, "/blacklist/hourly"),
        (Method::Get, "/metrics"),
        (Method::Post, "/api/password"),
        (Method::Post, "/blacklist/purge"),
        (Method::Get, "/api/me"),
        (Method::Get, "/sessions?username=admin"),
    ] {
        assert!(
            guarded.iter().any(|(m, u)| *m == method && u == uri),
            "{method} {uri} is not in {guarded:?}"
        );
    }
    assert_eq!(
        guarded.len() + strategies::PUBLIC.len(),
        mounted.len(),
        "every mounted route is either public or guarded"
    );
}
