//! [`ApiDoc`]: the OpenAPI document assembled from every handler's `#[utoipa::path]`, with the
//! security schemes, the tags (one per URL family, named after its file in `src/http/routes/`) and
//! the error envelope every operation can fall back to.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref};
use utoipa::{Modify, OpenApi};

use super::errors;
use crate::http::routes::{
    audit, authenticate, blacklist, forward_auth, health, jwks, metrics, mfa, openapi, pages,
    passkeys, refresh, sessions, users,
};

#[derive(OpenApi)]
#[openapi(
    info(description = "Session server: JWT in an HttpOnly cookie, and a logout that really \
        works.\n\nAll bodies are JSON, times RFC 3339 UTC. Every 4xx/5xx body is the \
        `ErrorBody` envelope `{\"error\": \"<code>\", \"message\": \"<text>\"}`. Every answer \
        carries `Cache-Control: no-store`, except the public key set \
        (`/.well-known/jwks.json`), which caches may keep five minutes. A POST, PATCH or DELETE from a foreign `Origin` \
        (scheme, host and port compared), or without `Origin` but with `Sec-Fetch-Site: \
        cross-site` or `same-site`, is refused with 403 `cross_origin_request`."),
    paths(
        authenticate::authenticate,
        authenticate::mfa::second_factor,
        authenticate::passkey::start,
        authenticate::passkey::finish,
        authenticate::passkey::second_factor_start,
        authenticate::passkey::second_factor_finish,
        refresh::refresh,
        users::sign_up,
        users::me,
        users::change_password,
        users::set_role,
        users::remove,
        users::console::list,
        users::console::one,
        users::console::lock,
        users::console::unlock,
        mfa::status,
        mfa::start_totp,
        mfa::confirm_totp,
        mfa::disable_totp,
        mfa::recovery_codes,
        passkeys::start,
        passkeys::finish,
        passkeys::list,
        passkeys::rename,
        passkeys::remove,
        users::console::remove_factors,
        audit::audit,
        audit::events,
        sessions::mine,
        sessions::end_mine,
        sessions::rename,
        sessions::of_user,
        sessions::end_any,
        blacklist::logout,
        blacklist::logout_all,
        blacklist::list,
        blacklist::hourly,
        blacklist::purge,
        health::live,
        health::ready,
        jwks::jwks,
        forward_auth::verify,
        metrics::metrics,
        pages::index,
        pages::admin,
        pages::asset,
        openapi::openapi_json,
    ),
    components(
        schemas(
            errors::ErrorBody,
            errors::ErrorCode,
            users::console::RoleFilter,
            users::console::StatusFilter,
            audit::EventKind,
        ),
        responses(
            errors::Unauthorized,
            errors::NotAdmin,
            errors::CrossOrigin,
            errors::NotAdminOrCrossOrigin,
            errors::NotJson,
            errors::TooLarge,
            errors::Throttled,
            errors::Unavailable,
            errors::UnavailableOrBusy,
            errors::OtherError,
            pages::HtmlPage,
        ),
    ),
    modifiers(&SecuritySchemes, &EveryErrorIsTheEnvelope, &Unlicensed),
    tags(
        (name = "session", description = "`/authenticate` and `/refresh`: starting and continuing a session."),
        (name = "users", description = "`/api/users`, `/api/me`, `/api/password`: accounts."),
        (name = "mfa", description = "`/api/mfa`: one's second factor (TOTP and recovery codes)."),
        (name = "passkeys", description = "`/api/passkeys`: one's passkeys (WebAuthn): adding, naming, removing."),
        (name = "sessions", description = "`/api/sessions` (one's own) and `/sessions` (admins): live sessions."),
        (name = "blacklist", description = "`/blacklist`: logout, logout everywhere, and the admins' view of revoked tokens."),
        (name = "audit", description = "`/audit` (admins) and `/api/events` (one's own): the trail of security events."),
        (name = "health", description = "`/health`: liveness and readiness."),
        (name = "keys", description = "`/.well-known/jwks.json`: the public keys that verify our tokens offline."),
        (name = "forward_auth", description = "`/auth/verify`: forward authentication for reverse proxies."),
        (name = "metrics", description = "`/metrics`: Prometheus metrics, for admins and the scraper's `metrics_token`."),
        (name = "pages", description = "`/`, `/admin`, `/assets`: the browser pages."),
        (name = "openapi", description = "`/openapi.json`: this document."),
    ),
)]
pub struct ApiDoc;

/// The three ways a token arrives. Operations name them in `security(...)`: `jwt_cookie` or
/// `bearer` (with `["admin"]` where the admin role is needed), `refresh_cookie` for `/refresh`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "jwt",
                "The access token, set by /authenticate and /refresh (HttpOnly, Path=/).",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The same access token in `Authorization: Bearer`; preferred over the \
                         cookie when both are sent.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The configured `metrics_token` in `Authorization: Bearer`, for a \
                         Prometheus scraper (no session); only `GET /metrics` accepts it.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "refresh",
                "The refresh token (HttpOnly, SameSite=Strict, Path=/refresh), rotated on every use.",
            ))),
        );
        components.add_security_scheme(
            "mfa_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "mfa",
                "A login's pending second step (HttpOnly, SameSite=Strict, Path=/authenticate, \
                 Max-Age=300), set by `POST /authenticate` when the account has a second factor.",
            ))),
        );
    }
}

/// Every answer outside an operation's listed statuses (e.g. 500 after a handler bug) is
/// still the envelope: said once here, as each operation's `default` response.
struct EveryErrorIsTheEnvelope;

impl Modify for EveryErrorIsTheEnvelope {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("default".to_owned())
                    .or_insert_with(|| Ref::from_response_name("OtherError").into());
            }
        }
    }
}

/// Cargo.toml names no license (the crate is not published), and utoipa would write an empty
/// one, which some tools reject.
struct Unlicensed;

impl Modify for Unlicensed {
    fn modify(&self, doc: &mut Document) {
        doc.info.license = None;
    }
}
