//! `/api/mfa...`: the caller's second factor: its state, TOTP enrolment (start, confirm), turning
//! it off, and new recovery codes.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, post, routes, Route, State};
use utoipa::ToSchema;

use super::openapi::errors::{
    CrossOrigin, ErrorBody, NotJson, Throttled, TooLarge, Unauthorized, Unavailable,
    UnavailableOrBusy,
};
use super::{body, JsonBody};
use crate::app::App;
use crate::audit::Source;
use crate::auth::accounts::Caller;
use crate::auth::mfa;
use crate::http::error::ApiError;
use crate::http::guard::AuthUser;
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![
        status,
        start_totp,
        confirm_totp,
        disable_totp,
        recovery_codes
    ]
}

/// The caller, as the account services take them.
pub(super) fn caller(user: &AuthUser) -> Caller<'_> {
    Caller {
        username: &user.username,
        sid: user.sid,
    }
}

/// The caller's second factors.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Factors {
    /// TOTP is on: logins ask for a code after the password.
    totp: bool,
    /// A TOTP secret was handed out and awaits its first code.
    totp_pending: bool,
    recovery_codes_left: i64,
    /// Registered passkeys (`GET /api/passkeys` lists them).
    passkeys: i64,
    /// What a login's second step accepts (empty: none is asked).
    methods: Vec<&'static str>,
}

/// The caller's second factors.
#[utoipa::path(
    tag = "mfa",
    responses(
        (status = 200, description = "The caller's factors.", body = Factors),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[get("/api/mfa")]
async fn status(user: AuthUser, app: &State<App>) -> Result<Json<Factors>, ApiError> {
    let factors = mfa::status(app, user.uid).await?;
    Ok(Json(Factors {
        totp: factors.totp,
        totp_pending: factors.totp_pending,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys: factors.passkeys,
        methods: factors.methods().iter().map(|m| m.as_str()).collect(),
    }))
}

/// A new TOTP secret, for the authenticator app.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct TotpEnrolment {
    /// The secret, base32 (160 bits), for typing into an app.
    secret: String,
    /// `otpauth://totp/<issuer>:<username>?secret=...&issuer=...` (SHA-1, 6 digits, 30 s).
    otpauth_uri: String,
    /// The URI as a QR code: an SVG document.
    qr_svg: String,
}

/// Start TOTP enrolment: a new secret, pending until a code from it is confirmed.
///
/// Replaces a pending secret; TOTP stays off until `POST /api/mfa/totp/confirm`. While TOTP is
/// on, refused (409): turn it off first.
#[utoipa::path(
    tag = "mfa",
    responses(
        (status = 200, description = "A pending secret.", body = TotpEnrolment),
        (status = 401, response = Unauthorized),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "TOTP is already on (`conflict`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/api/mfa/totp")]
async fn start_totp(
    _origin: SameOrigin,
    user: AuthUser,
    app: &State<App>,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let e = mfa::start_totp(app, user.uid, &user.username).await?;
    Ok(Json(TotpEnrolment {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
        qr_svg: e.qr_svg,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct TotpCode {
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

/// Recovery codes, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct RecoveryCodes {
    /// Ten single-use codes (`xxxxx-xxxxx`); the server keeps only their hashes.
    recovery_codes: Vec<String>,
}

/// Confirm TOTP with a code from the pending secret: TOTP is on, with ten recovery codes.
///
/// The recovery codes are shown this once and stored only hashed.
#[utoipa::path(
    tag = "mfa",
    request_body = TotpCode,
    responses(
        (status = 200, description = "TOTP is on.", body = RecoveryCodes),
        (status = 400, response = NotJson),
        (status = 401, description = "No valid session token (`unauthorized`), or a code that is not a current one of the pending secret (`invalid_code`).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "No secret is pending, or TOTP is already on (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `code` string (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/api/mfa/totp/confirm", data = "<data>")]
async fn confirm_totp(
    _origin: SameOrigin,
    user: AuthUser,
    source: Source,
    data: JsonBody<'_, TotpCode>,
    app: &State<App>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let form = body(data)?;
    let codes = mfa::confirm_totp(app, caller(&user), user.uid, &form.code, source).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct CurrentPassword {
    pub current_password: String,
}

/// Turn TOTP off: its secret, the recovery codes and any pending login step go.
///
/// Needs the current password; wrong ones are throttled per session and address (429).
#[utoipa::path(
    tag = "mfa",
    request_body = CurrentPassword,
    responses(
        (status = 204, description = "TOTP is off."),
        (status = 400, response = NotJson),
        (status = 401, description = "No valid session token (`unauthorized`), or a wrong current password (`invalid_credentials`).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "TOTP is not on (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `current_password` string (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[delete("/api/mfa/totp", data = "<data>")]
async fn disable_totp(
    _origin: SameOrigin,
    user: AuthUser,
    source: Source,
    data: JsonBody<'_, CurrentPassword>,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let form = body(data)?;
    mfa::disable_totp(app, caller(&user), &form.current_password, source).await?;
    Ok(Status::NoContent)
}

/// Ten new recovery codes; the old ones stop working.
///
/// Needs the current password, and TOTP on.
#[utoipa::path(
    tag = "mfa",
    request_body = CurrentPassword,
    responses(
        (status = 200, description = "The new codes, shown this once.", body = RecoveryCodes),
        (status = 400, response = NotJson),
        (status = 401, description = "No valid session token (`unauthorized`), or a wrong current password (`invalid_credentials`).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "TOTP is not on (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `current_password` string (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/api/mfa/recovery-codes", data = "<data>")]
async fn recovery_codes(
    _origin: SameOrigin,
    user: AuthUser,
    source: Source,
    data: JsonBody<'_, CurrentPassword>,
    app: &State<App>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let form = body(data)?;
    let codes = mfa::new_recovery_codes(app, caller(&user), &form.current_password, source).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}
