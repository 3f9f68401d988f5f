//! `/api/passkeys...`: the caller's passkeys: registering one (start, finish), listing, naming
//! and removing them. Logging in with one is in `authenticate/passkey.rs`.

use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::{Json, Value};
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, patch, post, routes, Route, State};
use time::OffsetDateTime;
use utoipa::ToSchema;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::mfa::{caller, CurrentPassword};
use super::openapi::errors::{
    CrossOrigin, ErrorBody, NotJson, Throttled, TooLarge, Unauthorized, Unavailable,
    UnavailableOrBusy,
};
use super::{body, JsonBody};
use crate::app::App;
use crate::audit::Source;
use crate::auth::passkeys::{self, Listed};
use crate::http::error::ApiError;
use crate::http::guard::AuthUser;
use crate::http::origin::SameOrigin;

pub fn routes() -> Vec<Route> {
    routes![start, finish, list, rename, remove]
}

/// WebAuthn options for the browser, as `navigator.credentials` takes them once the base64url
/// members are decoded (`PublicKeyCredential.parseCreationOptionsFromJSON` and its request
/// twin do it).
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct WebauthnOptions {
    /// `PublicKeyCredentialCreationOptions` or `...RequestOptions`, binary members base64url.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}

impl WebauthnOptions {
    /// The options' `publicKey` member (webauthn-rs serialises `{publicKey, mediation?}`).
    pub fn from(options: &impl Serialize) -> Result<Self, ApiError> {
        let mut value =
            rocket::serde::json::serde_json::to_value(options).map_err(|_| ApiError::Internal)?;
        let public_key = value
            .get_mut("publicKey")
            .map(Value::take)
            .ok_or(ApiError::Internal)?;
        Ok(Self { public_key })
    }
}

/// A browser's WebAuthn answer, read as webauthn-rs's type; one that does not read is refused
/// as an answer that does not verify: from the client's side they are the same failure.
pub fn credential<T: rocket::serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    rocket::serde::json::serde_json::from_value(value).map_err(|_| ApiError::PasskeyRefused)
}

/// A passkey, as its owner sees it.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Passkey {
    id: String,
    name: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// The last login or second step it passed; `null` until then.
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
}

impl From<Listed> for Passkey {
    fn from(p: Listed) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// Start adding a passkey: creation options for `navigator.credentials.create()`.
///
/// A discoverable credential is preferred (it can then log in without a username) and user
/// verification is required (a PIN or biometric: webauthn-rs refuses passkeys without it). The
/// caller's own passkeys are excluded. The challenge is kept server-side for five minutes and
/// answered once.
#[utoipa::path(
    tag = "passkeys",
    responses(
        (status = 200, description = "Creation options.", body = WebauthnOptions),
        (status = 401, response = Unauthorized),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "The account has 20 passkeys already (`conflict`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/api/passkeys/register/start")]
async fn start(
    _origin: SameOrigin,
    user: AuthUser,
    app: &State<App>,
) -> Result<Json<WebauthnOptions>, ApiError> {
    let options = passkeys::start_registration(app, user.uid, &user.username).await?;
    Ok(Json(WebauthnOptions::from(&options)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct NewPasskey {
    /// 1 to 64 characters, without control characters; trimmed.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    /// What `navigator.credentials.create()` returned, binary members base64url
    /// (`PublicKeyCredential.toJSON()`). One that is not a well-formed credential is refused like
    /// one that does not verify (401 `passkey_refused`).
    #[schema(value_type = Object)]
    credential: Value,
}

/// Finish adding a passkey: the browser's new credential, checked against the pending start.
///
/// Its origin must be `webauthn_origin` and its RP id `webauthn_rp_id`; user verification must
/// have happened. From now on a password login of this account asks for a second step.
#[utoipa::path(
    tag = "passkeys",
    request_body = NewPasskey,
    responses(
        (status = 201, description = "Added.", body = Passkey),
        (status = 400, response = NotJson),
        (status = 401, description = "No valid session token (`unauthorized`), or a credential that is not well-formed, does not verify or answers no pending start of this account: wrong origin or RP id, no user verification, expired, or answered already (`passkey_refused`).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 409, description = "That credential is registered already, or the account has 20 passkeys (`conflict`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `name` of 1 to 64 characters, or no `credential` (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[post("/api/passkeys/register/finish", data = "<data>")]
async fn finish(
    _origin: SameOrigin,
    user: AuthUser,
    source: Source,
    data: JsonBody<'_, NewPasskey>,
    app: &State<App>,
) -> Result<Created<Json<Passkey>>, ApiError> {
    let form = body(data)?;
    let credential = credential::<RegisterPublicKeyCredential>(form.credential)?;
    let added = passkeys::finish_registration(
        app,
        caller(&user),
        user.uid,
        &form.name,
        &credential,
        source,
    )
    .await?;
    let location = format!("/api/passkeys/{}", added.id);
    Ok(Created::new(location).body(Json(added.into())))
}

/// The caller's passkeys.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Passkeys {
    /// Oldest first.
    passkeys: Vec<Passkey>,
}

/// The caller's passkeys, oldest first.
#[utoipa::path(
    tag = "passkeys",
    responses(
        (status = 200, description = "The caller's passkeys.", body = Passkeys),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[get("/api/passkeys")]
async fn list(user: AuthUser, app: &State<App>) -> Result<Json<Passkeys>, ApiError> {
    let listed = passkeys::list(app, user.uid).await?;
    Ok(Json(Passkeys {
        passkeys: listed.into_iter().map(Passkey::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct PasskeyName {
    /// 1 to 64 characters, without control characters; trimmed.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
}

/// Rename one of the caller's passkeys.
#[utoipa::path(
    tag = "passkeys",
    request_body = PasskeyName,
    params(("id" = String, Path, description = "The passkey's id.")),
    responses(
        (status = 200, description = "Renamed.", body = Passkey),
        (status = 400, response = NotJson),
        (status = 401, response = Unauthorized),
        (status = 403, response = CrossOrigin),
        (status = 404, description = "No passkey of that id is the caller's (`not_found`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `name` of 1 to 64 characters (`unprocessable_entity`).", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[patch("/api/passkeys/<id>", data = "<data>")]
async fn rename(
    _origin: SameOrigin,
    user: AuthUser,
    id: &str,
    data: JsonBody<'_, PasskeyName>,
    app: &State<App>,
) -> Result<Json<Passkey>, ApiError> {
    let form = body(data)?;
    let renamed = passkeys::rename(app, user.uid, id, &form.name).await?;
    Ok(Json(renamed.into()))
}

/// Remove one of the caller's passkeys.
///
/// Needs the current password; wrong ones are throttled per session and address (429). Without
/// any factor left, a password login no longer asks for a second step.
#[utoipa::path(
    tag = "passkeys",
    request_body = CurrentPassword,
    params(("id" = String, Path, description = "The passkey's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, response = NotJson),
        (status = 401, description = "No valid session token (`unauthorized`), or a wrong current password (`invalid_credentials`).", body = ErrorBody),
        (status = 403, response = CrossOrigin),
        (status = 404, description = "No passkey of that id is the caller's (`not_found`).", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "No `current_password` string (`unprocessable_entity`).", body = ErrorBody),
        (status = 429, response = Throttled),
        (status = 503, response = UnavailableOrBusy),
    ),
    security(("jwt_cookie" = []), ("bearer" = [])),
)]
#[delete("/api/passkeys/<id>", data = "<data>")]
async fn remove(
    _origin: SameOrigin,
    user: AuthUser,
    id: &str,
    source: Source,
    data: JsonBody<'_, CurrentPassword>,
    app: &State<App>,
) -> Result<Status, ApiError> {
    let form = body(data)?;
    passkeys::remove(app, caller(&user), id, &form.current_password, source).await?;
    Ok(Status::NoContent)
}
