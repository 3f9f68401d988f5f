//! The browser pages `/` and `/admin` and their assets: served from the binary, under a
//! `default-src 'self'` content security policy.

use rocket::http::{ContentType, Status};

use crate::helpers::{error_code, TestApp};

#[rocket::async_test]
async fn both_pages_are_html_under_the_content_security_policy() {
    let app = TestApp::spawn().await;
    for path in ["/", "/admin"] {
        let res = app.client.get(path).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert_eq!(res.content_type(), Some(ContentType::HTML), "{path}");
        assert_eq!(
            res.headers().get_one("Content-Security-Policy"),
            Some("default-src 'self'"),
            "{path}"
        );
        let html = res.into_string().await.unwrap_or_default();
        assert!(html.contains("<html"), "{path}");
        assert!(!html.contains("<script>"), "{path}: no inline script");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path}: no CDN"
        );
    }
}

#[rocket::async_test]
async fn every_asset_a_page_names_is_served_with_its_type() {
    let app = TestApp::spawn().await;
    for page in ["/", "/admin"] {
        let html = app
            .client
            .get(page)
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        let assets: Vec<&str> = html
            .split("/assets/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(!assets.is_empty(), "{page} names no asset");
        for asset in assets {
            let res = app.client.get(format!("/assets/{asset}")).dispatch().await;
            assert_eq!(res.status(), Status::Ok, "{asset}");
            let expected = match asset.rsplit('.').next() {
                Some("js") => ContentType::JavaScript,
                Some("svg") => ContentType::SVG,
                _ => ContentType::CSS,
            };
            assert_eq!(res.content_type(), Some(expected), "{asset}");
            assert_eq!(
                res.headers().get_one("Content-Security-Policy"),
                Some("default-src 'self'")
            );
        }
    }
}

#[rocket::async_test]
async fn an_unknown_asset_is_a_json_404() {
    let app = TestApp::spawn().await;
    for path in ["/assets/secret.txt", "/assets/..%2FCargo.toml"] {
        let res = app.client.get(path).dispatch().await;
        assert_eq!(
            error_code(res, Status::NotFound).await,
            "not_found",
            "{path}"
        );
    }
}
