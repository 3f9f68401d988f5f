//! `POST /refresh`: rotate the refresh token, new `jwt` and `refresh` cookies for the same
//! session.

use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};

use super::authenticate::LoggedIn;
use super::openapi::errors::{CrossOrigin, ErrorBody, Unavailable};
use crate::app::App;
use crate::audit::Source;
use crate::auth::error::AuthError;
use crate::auth::session_tokens;
use crate::http::cookie;
use crate::http::error::ApiError;
use crate::http::origin::SameOrigin;
use crate::telemetry::metrics::RefreshOutcome;

pub fn routes() -> Vec<Route> {
    routes![refresh]
}

/// Rotate the refresh token: new `jwt` and `refresh` cookies for the same session.
///
/// Rotates the refresh cookie. Any refusal (unknown, expired, reused, session ended) clears
/// both cookies: the browser has nothing left worth sending.
#[utoipa::path(
    tag = "session",
    responses(
        (status = 200, description = "The same session, with the user's current role.", body = LoggedIn,
            headers(("Set-Cookie" = String, description = "Two cookies: `jwt=<access token>; HttpOnly; SameSite=<cookie_same_site>; Path=/; Max-Age=<token_ttl>` and `refresh=<refresh token>; HttpOnly; SameSite=Strict; Path=/refresh; Max-Age=<refresh_ttl>`, both `Secure` when `cookie_secure` is set; neither `Max-Age` (nor the token's `exp`) reaches past the session's idle or absolute end, and a session logged in with `remember: false` gets both without `Max-Age`."))),
        (status = 401, description = "No refresh cookie, or one that is unknown, expired, of an ended or expired session (idle or absolute timeout), or reused after the grace window (which ends the session) (`unauthorized`).", body = ErrorBody,
            headers(("Set-Cookie" = String, description = "Both cookies cleared: `jwt=` and `refresh=` with `Max-Age=0`, an `Expires` in 1970 and the same attributes as when set."))),
        (status = 403, response = CrossOrigin),
        (status = 503, response = Unavailable),
    ),
    security(("refresh_cookie" = [])),
)]
#[post("/refresh")]
async fn refresh(
    _origin: SameOrigin,
    source: Source,
    jar: &CookieJar<'_>,
    app: &State<App>,
) -> Result<Json<LoggedIn>, ApiError> {
    let presented = jar
        .get(cookie::refresh_name(app.config.cookie))
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    match session_tokens::refresh(app, &presented, source).await {
        Ok(issued) => {
            app.metrics.refresh(RefreshOutcome::rotated);
            let claims = cookie::set_pair(jar, issued, app.config.cookie);
            Ok(Json(claims.into()))
        }
        Err(e) => {
            app.metrics.refresh(RefreshOutcome::refused);
            if matches!(e, AuthError::RefreshReused) {
                app.metrics.reuse_detected();
            }
            // The browser has nothing left worth sending.
            if matches!(e, AuthError::RefreshDead | AuthError::RefreshReused) {
                cookie::clear_pair(jar, app.config.cookie);
            }
            Err(e.into())
        }
    }
}
