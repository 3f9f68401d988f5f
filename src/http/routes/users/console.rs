//! The admins' console over accounts: `GET /api/users` (search, filters, paging),
//! `GET /api/users/<username>`, `POST /api/users/<username>/lock` and `.../unlock`.

use rocket::http::uri::Origin;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, post, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::super::openapi::errors::{
    ErrorBody, NotAdmin, NotAdminOrCrossOrigin, NotJson, TooLarge, Unauthorized, Unavailable,
};
use super::super::params::{parse_param, parse_time, Params};
use super::super::{body, JsonBody};
use super::existing_name;
use crate::app::App;
use crate::audit::Source;
use crate::auth::admin::{self, Account, Admin, Query};
use crate::domain::Role;
use crate::http::error::ApiError;
use crate::http::guard::AdminUser;
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![list, one, lock, unlock, remove_factors]
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 1000;

/// The values of `role` (schema only: the parameter is read by hand, to answer 422 naming it).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "schema only")]
pub enum RoleFilter {
    User,
    Admin,
}

/// The values of `status` (schema only, as [`RoleFilter`]).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "schema only")]
pub enum StatusFilter {
    Active,
    Locked,
}

/// One page of accounts by username, and how many match in all.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct UserPage {
    items: Vec<Account>,
    total: i64,
}

fn one_of<T>(name: &str, raw: Option<&str>, values: &[(&str, T)]) -> Result<Option<T>, ApiError>
where
    T: Copy,
{
    let Some(raw) = raw else { return Ok(None) };
    values
        .iter()
        .find(|(v, _)| *v == raw)
        .map(|(_, t)| Some(*t))
        .ok_or_else(|| {
            let names: Vec<&str> = values.iter().map(|(v, _)| *v).collect();
            ApiError::Unprocessable(format!("{name} must be one of {}", names.join(", ")))
        })
}

/// List accounts (admin).
///
/// Sorted by username; `q` matches any part of the name, whatever its case.
#[utoipa::path(
    tag = "users",
    params(
        ("q" = Option<String>, Query, max_length = 64, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$", description = "A part of the username, any case."),
        ("role" = Option<RoleFilter>, Query, description = "`user` or `admin`."),
        ("status" = Option<StatusFilter>, Query, description = "`active` or `locked`."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Accounts per page, 1 to 1000; 50 if absent."),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Accounts to skip; 0 if absent."),
    ),
    responses(
        (status = 200, description = "One page, and the total.", body = UserPage),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 422, description = "A parameter out of its range or values, or given twice (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[get("/api/users")]
async fn list(
    _admin: AdminUser,
    uri: &Origin<'_>,
    app: &State<App>,
) -> Result<Json<UserPage>, ApiError> {
    let params = Params::of(uri);
    let q = params.one("q")?;
    if q.as_deref()
        .is_some_and(|q| q.chars().count() > 64 || q.chars().any(char::is_control))
    {
        return Err(ApiError::Unprocessable(
            "q must be at most 64 characters, without control characters".into(),
        ));
    }
    let role = params.one("role")?;
    let status = params.one("status")?;
    let query = Query {
        name_contains: q.filter(|q| !q.is_empty()),
        role: one_of(
            "role",
            role.as_deref(),
            &[("user", Role::User), ("admin", Role::Admin)],
        )?,
        locked: one_of(
            "status",
            status.as_deref(),
            &[("active", false), ("locked", true)],
        )?,
        limit: parse_param(
            "limit",
            params.one("limit")?.as_deref(),
            DEFAULT_LIMIT,
            1..=MAX_LIMIT,
        )? as u32,
        offset: parse_param("offset", params.one("offset")?.as_deref(), 0, 0..=i64::MAX)? as u64,
    };
    let (items, total) = admin::list(&app.db, query).await?;
    Ok(Json(UserPage { items, total }))
}

/// One account (admin).
#[utoipa::path(
    tag = "users",
    params(("username", description = "The account, any case.")),
    responses(
        (status = 200, description = "The account.", body = Account),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[get("/api/users/<username>")]
async fn one(
    _admin: AdminUser,
    username: &str,
    app: &State<App>,
) -> Result<Json<Account>, ApiError> {
    let account = admin::get(&app.db, existing_name(username)?).await?;
    Ok(Json(account))
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct LockRequest {
    /// Why, for the other admins and the audit trail: 1 to 200 characters, not only spaces,
    /// without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    reason: String,
    /// When the lock ends by itself (RFC 3339, in the future); absent or null: until unlocked.
    #[serde(default)]
    #[schema(format = DateTime, pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")]
    until: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct LockedAccount {
    username: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    locked_until: Option<OffsetDateTime>,
    sessions_ended: usize,
}

/// Lock an account (admin); every session of theirs ends.
///
/// Every session of the user ends at once, on every instance. While locked, a login with the
/// correct password answers 403 `account_locked`; a wrong one still 401 `invalid_credentials`.
#[utoipa::path(
    tag = "users",
    params(("username", description = "The account to lock.")),
    request_body = LockRequest,
    responses(
        (status = 200, description = "Locked, and how many sessions ended.", body = LockedAccount),
        (status = 400, response = NotJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 409, description = "The last admin who can log in cannot be locked (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `reason`, a reason of the wrong length, or an `until` that is not a future RFC 3339 date-time (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[post("/api/users/<username>/lock", data = "<data>")]
async fn lock(
    _origin: SameOrigin,
    admin: AdminUser,
    source: Source,
    username: &str,
    data: JsonBody<'_, LockRequest>,
    app: &State<App>,
) -> Result<Json<LockedAccount>, ApiError> {
    let form = body(data)?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable(
            "reason must be 1 to 200 characters, without control characters".into(),
        ));
    }
    let by = Admin::named(&admin.0.username, source);
    let until = parse_time("until", form.until.as_deref())?;
    let username = existing_name(username)?;
    let locked = admin::lock(app, by, username, reason.to_owned(), until).await?;
    Ok(Json(LockedAccount {
        username: locked.username,
        locked_until: locked.locked_until,
        sessions_ended: locked.sessions_ended,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Unlocked {
    username: String,
}

/// Unlock an account (admin).
#[utoipa::path(
    tag = "users",
    params(("username", description = "The account to unlock.")),
    responses(
        (status = 200, description = "Unlocked (or was not locked).", body = Unlocked),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[post("/api/users/<username>/unlock")]
async fn unlock(
    _origin: SameOrigin,
    admin: AdminUser,
    source: Source,
    username: &str,
    app: &State<App>,
) -> Result<Json<Unlocked>, ApiError> {
    let by = Admin::named(&admin.0.username, source);
    let username = admin::unlock(app, by, existing_name(username)?).await?;
    Ok(Json(Unlocked { username }))
}

/// Remove every second factor of an account (admin): the user's sessions end.
///
/// For a user who lost their authenticator and their recovery codes: TOTP, recovery codes and
/// pending login steps go, and every session of the user ends, in one transaction with the
/// `mfa.disabled` event. The user logs in with their password alone, and may enrol again.
#[utoipa::path(
    tag = "users",
    params(("username", description = "The account whose factors go.")),
    responses(
        (status = 204, description = "Removed (or there were none); the user's sessions ended."),
        (status = 401, response = Unauthorized),
        (status = 403, response = NotAdminOrCrossOrigin),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = ["admin"]), ("bearer" = ["admin"])),
)]
#[delete("/api/users/<username>/mfa")]
async fn remove_factors(
    _origin: SameOrigin,
    admin: AdminUser,
    source: Source,
    username: &str,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let by = Admin::named(&admin.0.username, source);
    admin::remove_factors(app, by, existing_name(username)?).await?;
    Ok(Status::NoContent)
}
