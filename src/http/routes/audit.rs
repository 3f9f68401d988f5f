//! `GET /audit` (admins: the security events of every account, filtered, paged, or streamed as
//! NDJSON) and `GET /api/events` (the caller's own recent security activity).

use rocket::http::uri::Origin;
use rocket::http::{Accept, ContentType, MediaType};
use rocket::response::stream::TextStream;
use rocket::serde::json::{serde_json, Json};
use rocket::serde::Serialize;
use rocket::{get, routes, Either, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::openapi::errors::{ErrorBody, NotAdmin, Unauthorized, Unavailable};
use super::params::{parse_param, parse_time, Params};
use crate::app::App;
use crate::audit::listing::{self, Export, Listed};
use crate::audit::Kind;
use crate::db::audit_events::Filter;
use crate::db::to_db_time;
use crate::domain::Username;
use crate::http::error::ApiError;
use crate::http::guard::{AdminUser, AuthUser};

pub fn routes() -> Vec<Route> {
    routes![audit, events]
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 1000;

/// A security event.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
#[schema(as = AuditEvent)]
pub struct Event {
    /// Grows with every event; pages are taken by it.
    id: i64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    /// `login.succeeded`, `login.failed`, `login.throttled`, `logout`, `logout_all`,
    /// `session.ended`, `refresh.reuse_detected`, `password.changed`, `user.created`,
    /// `user.deleted`, `role.changed`, `user.locked`, `user.unlocked`, `mfa.enabled`,
    /// `mfa.disabled`, `mfa.failed`, `recovery_code.used`.
    kind: String,
    /// Who acted: the user, an admin's name, or `system`.
    actor: String,
    username: Option<String>,
    session_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    /// A small object (a reason, a role, a count); never a secret.
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

impl From<Listed> for Event {
    fn from(e: Listed) -> Self {
        Self {
            id: e.id,
            at: e.at,
            kind: e.kind,
            actor: e.actor,
            username: e.username,
            session_id: e.session_id,
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e.detail,
        }
    }
}

/// The kinds of event (schema only: `kind` is read by hand, to answer 422 naming it). A test
/// holds it to [`Kind::ALL`].
#[derive(ToSchema)]
#[expect(dead_code, reason = "schema only")]
pub enum EventKind {
    #[schema(rename = "login.succeeded")]
    LoginSucceeded,
    #[schema(rename = "login.failed")]
    LoginFailed,
    #[schema(rename = "login.throttled")]
    LoginThrottled,
    #[schema(rename = "logout")]
    Logout,
    #[schema(rename = "logout_all")]
    LogoutAll,
    #[schema(rename = "session.ended")]
    SessionEnded,
    #[schema(rename = "session.expired")]
    SessionExpired,
    #[schema(rename = "refresh.reuse_detected")]
    RefreshReuseDetected,
    #[schema(rename = "password.changed")]
    PasswordChanged,
    #[schema(rename = "user.created")]
    UserCreated,
    #[schema(rename = "user.deleted")]
    UserDeleted,
    #[schema(rename = "role.changed")]
    RoleChanged,
    #[schema(rename = "user.locked")]
    UserLocked,
    #[schema(rename = "user.unlocked")]
    UserUnlocked,
    #[schema(rename = "mfa.enabled")]
    MfaEnabled,
    #[schema(rename = "mfa.disabled")]
    MfaDisabled,
    #[schema(rename = "mfa.failed")]
    MfaFailed,
    #[schema(rename = "recovery_code.used")]
    RecoveryCodeUsed,
    #[schema(rename = "passkey.added")]
    PasskeyAdded,
    #[schema(rename = "passkey.removed")]
    PasskeyRemoved,
    #[schema(rename = "login.passkey")]
    LoginPasskey,
}

/// A page of events, newest first.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct EventPage {
    items: Vec<Event>,
    /// The `before` of the next page; `null` on the last.
    next: Option<i64>,
}

/// The page's size and position, from `limit` and `before`.
fn paging(params: &Params<'_>, filter: &mut Filter) -> Result<u32, ApiError> {
    let limit = parse_param(
        "limit",
        params.one("limit")?.as_deref(),
        DEFAULT_LIMIT,
        1..=MAX_LIMIT,
    )?;
    let before = params.one("before")?;
    if before.is_some() {
        filter.before = Some(parse_param("before", before.as_deref(), 0, 1..=i64::MAX)?);
    }
    Ok(limit as u32)
}

/// The admins' selection: `username`, `kind` (repeatable), `since`, `until`.
fn selection(params: &Params<'_>) -> Result<Filter, ApiError> {
    let mut filter = Filter::default();
    if let Some(name) = params.one("username")? {
        let name = Username::parse(&name)
            .map_err(|_| ApiError::Unprocessable("username is not a valid username".into()))?;
        filter.username = Some(name.as_str().to_owned());
    }
    for kind in params.all("kind") {
        let known = Kind::parse(&kind).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::Unprocessable(format!("kind must be one of {}", names.join(", ")))
        })?;
        filter.kinds.push(known.as_str().to_owned());
    }
    filter.since = parse_time("since", params.one("since")?.as_deref())?.map(to_db_time);
    filter.until = parse_time("until", params.one("until")?.as_deref())?.map(to_db_time);
    Ok(filter)
}

/// A page of `filter`; `seen_by`: as the account it is about sees it.
async fn page(
    app: &App,
    filter: Filter,
    limit: u32,
    seen_by: Option<&str>,
) -> Result<Json<EventPage>, ApiError> {
    let page = listing::page(&app.db, filter, limit).await?;
    let items = page.items.into_iter().map(|e| match seen_by {
        Some(name) => Event::from(e.as_seen_by(name)),
        None => Event::from(e),
    });
    Ok(Json(EventPage {
        items: items.collect(),
        next: page.next,
    }))
}

fn ndjson() -> ContentType {
    ContentType(MediaType::new("application", "x-ndjson"))
}

/// The audit trail (admin), newest first.
///
/// Paged by id: pass a page's `next` as `before` for the one after it. With
/// `Accept: application/x-ndjson`, the whole selection is streamed instead, one event per line
/// (for a SIEM), read from the database a few hundred rows at a time.
#[utoipa::path(
    tag = "audit",
    params(
        ("username" = Option<String>, Query, pattern = "^[A-Za-z0-9_.-]{3,64}$", description = "Only events about this account (whatever its case)."),
        ("kind" = Option<Vec<EventKind>>, Query, explode = true, description = "Only events of these kinds; may be repeated."),
        ("since" = Option<String>, Query, format = DateTime, description = "Only events at or after this instant (RFC 3339)."),
        ("until" = Option<String>, Query, format = DateTime, description = "Only events before this instant (RFC 3339)."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Events per page, 1 to 1000; 50 if absent. Ignored by the NDJSON stream."),
        ("before" = Option<i64>, Query, minimum = 1, description = "Only events with a smaller id: the `next` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of events, or with `Accept: application/x-ndjson` the whole selection, one event per line.", body = EventPage,
            content_type = "application/json"),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 422, description = "A parameter that cannot be read (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[get("/audit")]
async fn audit(
    _admin: AdminUser,
    uri: &Origin<'_>,
    accept: Option<&Accept>,
    app: &State<App>,
) -> Result<Either<Json<EventPage>, (ContentType, TextStream![String])>, ApiError> {
    let params = Params::of(uri);
    let mut filter = selection(&params)?;
    let limit = paging(&params, &mut filter)?;
    let wants_lines = accept.is_some_and(|a| {
        a.iter()
            .any(|m| m.top() == "application" && m.sub() == "x-ndjson")
    });
    if !wants_lines {
        return Ok(Either::Left(page(app, filter, limit, None).await?));
    }
    let db = app.db.clone();
    let mut export = Export::new(filter);
    let lines = TextStream! {
        loop {
            match export.next_batch(&db).await {
                Ok(Some(batch)) => {
                    let mut chunk = String::new();
                    for event in batch {
                        if let Ok(line) = serde_json::to_string(&Event::from(event)) {
                            chunk.push_str(&line);
                            chunk.push('\n');
                        }
                    }
                    yield chunk;
                }
                Ok(None) => break,
                Err(e) => {
                    log::error!("the audit export stopped early: {e}");
                    break;
                }
            }
        }
    };
    Ok(Either::Right((ndjson(), lines)))
}

/// The caller's own recent security activity, newest first.
///
/// Their logins and failed attempts, sessions ended, password changes and what admins did to
/// their account (who and what, without the admin's address, agent or note).
#[utoipa::path(
    tag = "audit",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Events per page, 1 to 1000; 50 if absent."),
        ("before" = Option<i64>, Query, minimum = 1, description = "Only events with a smaller id: the `next` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of the caller's events.", body = EventPage),
        (status = 401, response = Unauthorized),
        (status = 422, description = "`limit` or `before` out of range (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[get("/api/events")]
async fn events(
    user: AuthUser,
    uri: &Origin<'_>,
    app: &State<App>,
) -> Result<Json<EventPage>, ApiError> {
    let params = Params::of(uri);
    let mut filter = Filter {
        user_id: Some(user.uid.to_string()),
        ..Filter::default()
    };
    let limit = paging(&params, &mut filter)?;
    page(app, filter, limit, Some(&user.username)).await
}

#[cfg(test)]
mod tests {
    use rocket::serde::json::serde_json;
    use utoipa::PartialSchema;

    use super::EventKind;
    use crate::audit::Kind;

    #[test]
    fn the_documented_kinds_are_exactly_the_kinds_written() {
        let schema = serde_json::to_value(EventKind::schema()).expect("schema serializes");
        let documented: Vec<&str> = schema["enum"]
            .as_array()
            .expect("a string enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let written: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(documented, written);
    }
}
