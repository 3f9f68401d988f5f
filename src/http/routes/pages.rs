//! `GET /` (the user's page), `GET /admin` (the admin's page) and `GET /assets/<file>` (their
//! scripts and style). The files are compiled into the binary from `src/web/`: no build step,
//! nothing fetched from elsewhere. The pages call the JSON API with `fetch` and the cookie; the
//! token itself stays out of their reach (the cookie is HttpOnly).

use rocket::http::{ContentType, Header};
use rocket::{get, routes, Responder, Route};
use utoipa::ToResponse;

use super::openapi::errors::ErrorBody;
use crate::http::error::ApiError;

pub fn routes() -> Vec<Route> {
    routes![index, admin, asset]
}

/// Scripts, styles, images and connections from this origin only: no inline script, no CDN.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'";

#[derive(Responder)]
pub struct Page {
    body: (ContentType, &'static str),
    csp: Header<'static>,
}

fn page(kind: ContentType, body: &'static str) -> Page {
    Page {
        body: (kind, body),
        // `X-Content-Type-Options: nosniff` comes from Rocket's Shield, on every answer: setting
        // it here too made Shield warn on every page.
        csp: Header::new("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    }
}

/// A page, for the OpenAPI document: both pages answer alike.
#[derive(ToResponse)]
#[response(
    description = "The page (HTML; it calls the JSON API with the cookie).",
    content_type = "text/html",
    headers(
        ("Content-Security-Policy" = String, description = "`default-src 'self'`: no inline script, nothing from elsewhere."),
        ("X-Content-Type-Options" = String, description = "`nosniff`."),
    )
)]
#[expect(dead_code, reason = "never built: it only describes the pages' answer")]
pub struct HtmlPage(String);

/// The user's page (HTML; it calls the JSON API with the cookie).
#[utoipa::path(
    tag = "pages",
    responses((status = 200, response = HtmlPage)),
)]
#[get("/")]
fn index() -> Page {
    page(ContentType::HTML, include_str!("../../web/index.html"))
}

/// The admin's page (HTML; it calls the JSON API with the cookie).
#[utoipa::path(
    tag = "pages",
    responses((status = 200, response = HtmlPage)),
)]
#[get("/admin")]
fn admin() -> Page {
    page(ContentType::HTML, include_str!("../../web/admin.html"))
}

/// A script, the style sheet or the icon of the pages.
///
/// The pages' scripts, style sheet and icon; any other name is a 404.
#[utoipa::path(
    tag = "pages",
    params(("file", description = "`app.js`, `factors.js`, `forms.js`, `admin.js`, `access.js`, `revocations.js`, `users.js`, `audit.js`, `common.js`, `style.css` or `favicon.svg`.")),
    responses(
        (status = 200, description = "The file.", content((String = "text/javascript"), (String = "text/css"), (String = "image/svg+xml")),
            headers(
                ("Content-Security-Policy" = String, description = "`default-src 'self'`: no inline script, nothing from elsewhere."),
                ("X-Content-Type-Options" = String, description = "`nosniff`."),
            )),
        (status = 404, description = "No such asset (`not_found`).", body = ErrorBody),
    ),
)]
#[get("/assets/<file>")]
fn asset(file: &str) -> Result<Page, ApiError> {
    let (kind, body) = match file {
        "app.js" => (ContentType::JavaScript, include_str!("../../web/app.js")),
        "factors.js" => (
            ContentType::JavaScript,
            include_str!("../../web/factors.js"),
        ),
        "forms.js" => (ContentType::JavaScript, include_str!("../../web/forms.js")),
        "admin.js" => (ContentType::JavaScript, include_str!("../../web/admin.js")),
        "access.js" => (ContentType::JavaScript, include_str!("../../web/access.js")),
        "revocations.js" => (
            ContentType::JavaScript,
            include_str!("../../web/revocations.js"),
        ),
        "users.js" => (ContentType::JavaScript, include_str!("../../web/users.js")),
        "audit.js" => (ContentType::JavaScript, include_str!("../../web/audit.js")),
        "common.js" => (ContentType::JavaScript, include_str!("../../web/common.js")),
        "style.css" => (ContentType::CSS, include_str!("../../web/style.css")),
        // Named by the pages' <link rel="icon">: without it browsers ask for /favicon.ico and
        // log a 404, and a data: icon would break the CSP.
        "favicon.svg" => (ContentType::SVG, include_str!("../../web/favicon.svg")),
        _ => return Err(ApiError::NotFound("no such asset")),
    };
    Ok(page(kind, body))
}
