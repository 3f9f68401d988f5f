//! `GET /` (the user's page), `GET /admin` (the admin's page) and `GET /assets/<file>` (their
//! scripts and style). The files are compiled into the binary from `src/web/`: no build step,
//! nothing fetched from elsewhere. The pages call the JSON API with `fetch` and the cookie; the
//! token itself stays out of their reach (the cookie is HttpOnly).

use rocket::http::{ContentType, Header};
use rocket::{get, routes, Responder, Route};

use crate::error::ApiError;

pub fn routes() -> Vec<Route> {
    routes![index, admin, asset]
}

/// Scripts, styles, images and connections from this origin only: no inline script, no CDN.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'";

#[derive(Responder)]
pub struct Page {
    body: (ContentType, &'static str),
    csp: Header<'static>,
    nosniff: Header<'static>,
    /// Always revalidated: a new binary serves new pages at once.
    cache: Header<'static>,
}

fn page(kind: ContentType, body: &'static str) -> Page {
    Page {
        body: (kind, body),
        csp: Header::new("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        nosniff: Header::new("X-Content-Type-Options", "nosniff"),
        cache: Header::new("Cache-Control", "no-cache"),
    }
}

#[get("/")]
fn index() -> Page {
    page(ContentType::HTML, include_str!("../web/index.html"))
}

#[get("/admin")]
fn admin() -> Page {
    page(ContentType::HTML, include_str!("../web/admin.html"))
}

/// The pages' scripts, style sheet and icon; any other name is a 404.
#[get("/assets/<file>")]
fn asset(file: &str) -> Result<Page, ApiError> {
    let (kind, body) = match file {
        "app.js" => (ContentType::JavaScript, include_str!("../web/app.js")),
        "admin.js" => (ContentType::JavaScript, include_str!("../web/admin.js")),
        "common.js" => (ContentType::JavaScript, include_str!("../web/common.js")),
        "style.css" => (ContentType::CSS, include_str!("../web/style.css")),
        // Named by the pages' <link rel="icon">: without it browsers ask for /favicon.ico and
        // log a 404, and a data: icon would break the CSP.
        "favicon.svg" => (ContentType::SVG, include_str!("../web/favicon.svg")),
        _ => return Err(ApiError::NotFound("no such asset")),
    };
    Ok(page(kind, body))
}
