//! Cookie tossing: a sibling subdomain can plant a second `jwt` cookie. Logout revokes every
//! `jwt` value presented; any other request carrying two different ones is refused; and the
//! `cookie_host_prefix` option names the cookies so that no sibling can set them.

use rocket::http::{Header, Status};

use crate::helpers::{
    error_code, fails_to_start, figment, json_body, set_cookies, TestApp, TestDb,
};

fn two_cookies(a: &str, b: &str) -> Header<'static> {
    Header::new("Cookie", format!("jwt={a}; jwt={b}"))
}

#[rocket::async_test]
async fn logout_with_two_jwt_cookies_revokes_both() {
    let app = TestApp::spawn().await;
    let first = app.user_token("alice").await;
    let second = app.user_token("alice").await;
    let res = app
        .client
        .post("/blacklist/logout")
        .header(two_cookies(&first, &second))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(json_body(res).await["logged_out"], true);
    assert_eq!(app.me(&first).await.status(), Status::Unauthorized);
    assert_eq!(app.me(&second).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn any_other_request_with_two_different_jwt_cookies_is_refused() {
    let app = TestApp::spawn().await;
    let mine = app.user_token("alice").await;
    let planted = app.user_token("mallory").await;
    let res = app
        .client
        .get("/api/me")
        .header(two_cookies(&planted, &mine))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
    let body = json_body(res).await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("two different session cookies")),
        "{body}"
    );
    // The same value twice is one cookie, not two.
    let res = app
        .client
        .get("/api/me")
        .header(two_cookies(&mine, &mine))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn with_cookie_host_prefix_the_cookies_are_named_so_no_sibling_can_set_them() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("cookie_host_prefix", true))
            .merge(("cookie_secure", true))
    })
    .await;
    let res = app
        .login(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_eq!(res.status(), Status::Ok);
    let cookies = set_cookies(&res);
    let access = cookies
        .iter()
        .find(|c| c.starts_with("__Host-jwt="))
        .expect("__Host-jwt");
    for attribute in ["Secure", "Path=/", "HttpOnly"] {
        assert!(access.contains(attribute), "{access}");
    }
    assert!(!access.contains("Domain"), "{access}");
    assert!(cookies.iter().any(|c| c.starts_with("__Secure-refresh=")));
    assert!(cookies.iter().any(|c| c.starts_with("__Secure-device=")));
    let token = res
        .cookies()
        .get("__Host-jwt")
        .map(|c| c.value().to_owned())
        .expect("token");
    let me = app
        .client
        .get("/api/me")
        .header(Header::new("Cookie", format!("__Host-jwt={token}")))
        .dispatch()
        .await;
    assert_eq!(me.status(), Status::Ok);
    // A plain `jwt` cookie (which a sibling could set) is not read.
    let plain = app.me(&token).await;
    assert_eq!(
        error_code(plain, Status::Unauthorized).await,
        "unauthorized"
    );
}

#[rocket::async_test]
async fn cookie_host_prefix_without_cookie_secure_is_refused_at_start() {
    let db = TestDb::new();
    let rocket = jwt_blacklist::rocket_from(
        figment(&db)
            .merge(("cookie_host_prefix", true))
            .merge(("cookie_secure", false)),
    );
    assert!(fails_to_start(rocket).await);
}
