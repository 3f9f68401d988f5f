//! Sessions a person recognises: the address a session logged in from, a device label read from
//! its User-Agent, and a name its owner gives it (`PATCH /api/sessions/<id>`).

use std::net::SocketAddr;

use rocket::http::{ContentType, Header, Method, Status};
use rocket::serde::json::{serde_json::json, Value};

use crate::helpers::{error_code, json_body, jwt_cookie, TestApp};

async fn login_as(app: &TestApp, user: &str, agent: &str) -> String {
    let _ = app.sign_up(user, &format!("{user}-password")).await;
    let remote: SocketAddr = "192.0.2.44:50000".parse().expect("addr");
    let res = app
        .post_json(
            "/authenticate",
            json!({"username": user, "password": format!("{user}-password")}),
        )
        .remote(remote)
        .header(Header::new("User-Agent", agent.to_owned()))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    jwt_cookie(&res).expect("jwt")
}

async fn sessions(app: &TestApp, jwt: &str) -> Vec<Value> {
    let res = app.authed(Method::Get, "/api/sessions", jwt).await;
    json_body(res).await["items"]
        .as_array()
        .expect("items")
        .clone()
}

async fn rename<'a>(
    app: &'a TestApp,
    jwt: &str,
    id: &str,
    body: Value,
) -> rocket::local::asynchronous::LocalResponse<'a> {
    app.with_cookie(app.client.patch(format!("/api/sessions/{id}")), jwt)
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";

#[rocket::async_test]
async fn sessions_show_their_device_and_address() {
    let app = TestApp::spawn().await;
    let jwt = login_as(&app, "nina", FIREFOX).await;
    let _phone = login_as(&app, "nina", IPHONE).await;
    let listed = sessions(&app, &jwt).await;
    let mut devices: Vec<&str> = listed
        .iter()
        .map(|s| s["device"].as_str().expect("device"))
        .collect();
    devices.sort_unstable();
    assert_eq!(devices, ["Firefox 133 on Linux", "Safari on iPhone"]);
    assert!(listed
        .iter()
        .all(|s| s["ip"] == "192.0.2.44" && s["name"].is_null()));

    let admin = app.admin_token().await;
    let res = app
        .authed(Method::Get, "/sessions?username=nina", &admin)
        .await;
    let theirs = json_body(res).await;
    assert!(theirs["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|s| s["device"].is_string() && s["ip"] == "192.0.2.44"));
}

#[rocket::async_test]
async fn the_owner_names_a_session_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    let jwt = login_as(&app, "otto", FIREFOX).await;
    let id = sessions(&app, &jwt).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let res = rename(&app, &jwt, &id, json!({"name": "  work laptop "})).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        json_body(res).await,
        json!({"id": id, "name": "work laptop"})
    );
    assert_eq!(sessions(&app, &jwt).await[0]["name"], "work laptop");
    let admin = app.admin_token().await;
    let listed = json_body(
        app.authed(Method::Get, "/sessions?username=otto", &admin)
            .await,
    )
    .await;
    assert_eq!(
        listed["items"][0]["name"], "work laptop",
        "admins see the name too"
    );

    let intruder = login_as(&app, "pia", FIREFOX).await;
    let res = rename(&app, &intruder, &id, json!({"name": "mine now"})).await;
    assert_eq!(error_code(res, Status::NotFound).await, "not_found");
    let unknown = rename(
        &app,
        &jwt,
        "00000000-0000-4000-8000-000000000000",
        json!({"name": "x"}),
    );
    assert_eq!(unknown.await.status(), Status::NotFound);
    assert_eq!(
        rename(&app, &jwt, "not-a-uuid", json!({"name": "x"}))
            .await
            .status(),
        Status::NotFound
    );
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "a\u{7}b"}),
    ] {
        let res = rename(&app, &jwt, &id, bad.clone()).await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{bad}");
    }
    assert_eq!(
        sessions(&app, &jwt).await[0]["name"],
        "work laptop",
        "unchanged"
    );
    let ok = rename(&app, &jwt, &id, json!({"name": "é".repeat(64)})).await;
    assert_eq!(ok.status(), Status::Ok, "64 characters, not bytes");

    // An ended session cannot be named.
    assert_eq!(app.logout(Some(&jwt)).await.status(), Status::Ok);
    let fresh = login_as(&app, "otto", FIREFOX).await;
    assert_eq!(
        rename(&app, &fresh, &id, json!({"name": "old"}))
            .await
            .status(),
        Status::NotFound
    );
}
