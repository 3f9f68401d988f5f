//! A session server: JWT in an HttpOnly cookie, and a logout that really works.
//!
//! This file is the one place the application is assembled: configuration, database, services,
//! routes, catchers and the purge job.

pub mod app;
pub mod audit;
pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod revocation;
pub mod telemetry;

use std::sync::Arc;

use rocket::fairing::{self, AdHoc};
use rocket::figment::Figment;
use rocket::{Build, Rocket};

use crate::app::App;
use crate::audit::floods::Floods;
use crate::auth::claims::TokenCodec;
use crate::auth::error::AuthError;
use crate::auth::keys::KeyRing;
use crate::auth::mfa::sealing::MfaKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::refresh::RefreshTokens;
use crate::auth::throttle::LoginThrottle;
use crate::config::AppConfig;
use crate::config::DatabaseUrl;
use crate::db::instance_lock::InstanceLock;
use crate::db::{Db, PoolSettings};
use crate::domain::{Password, Role, Username};
use crate::revocation::Revocation;
use crate::telemetry::metrics::Metrics;

/// The server configured from Rocket.toml and `ROCKET_*` variables (see [`config::figment`]).
pub fn rocket() -> Rocket<Build> {
    rocket_from(config::figment())
}

/// The server configured from `figment` (tests pass their own, built on [`config::figment`] or
/// [`config::defaults`]: every setting with a default is read from it).
pub fn rocket_from(figment: Figment) -> Rocket<Build> {
    let rocket = rocket::custom(figment)
        .attach(AdHoc::try_on_ignite("session server", setup))
        .attach(AdHoc::on_liftoff("purge schedule", |rocket| {
            Box::pin(async move {
                if let Some(app) = rocket.state::<App>() {
                    if let Err(e) = app.purge.start().await {
                        log::error!(
                            target: "jwt_blacklist::jobs",
                            "the purge schedule did not start: {e}"
                        );
                    }
                }
            })
        }))
        .attach(AdHoc::on_shutdown("stop purge schedule", |rocket| {
            Box::pin(async move {
                if let Some(app) = rocket.state::<App>() {
                    app.purge.stop().await;
                }
            })
        }));
    http::stage(rocket)
}

/// Validates the configuration, opens and migrates the database, and builds every service.
/// Any failure stops start-up with a message naming the cause.
async fn setup(rocket: Rocket<Build>) -> fairing::Result {
    match build_app(rocket.figment(), Start::Server).await {
        Ok(app) => Ok(rocket.manage(app)),
        Err(message) => {
            rocket::error!("start-up refused: {message}");
            Err(rocket)
        }
    }
}

/// The configuration as start-up accepts it: the settings themselves
/// ([`AppConfig::from_figment`]), then what only the services built on them check (the purge
/// schedule's cron expression, the passkey relying party). Start-up and `check-config` both
/// call this, so the command refuses exactly what the server refuses; it opens no database.
/// The error is the message start-up gives.
pub fn validated_config(figment: &Figment) -> Result<AppConfig, String> {
    let config = AppConfig::from_figment(figment).map_err(|e| e.to_string())?;
    jobs::check_schedule(&config.purge_schedule)?;
    auth::passkeys::Passkeys::new(&config.webauthn)?;
    Ok(config)
}

/// Who the application is built for.
pub enum Start {
    /// The server: it takes the SQLite instance lock itself (refused while another process
    /// holds it) and creates the configured admin on first start.
    Server,
    /// A command of the binary's (`jwt-blacklist user ...`): the caller took the SQLite lock
    /// (`Some` on SQLite) and said what to do when it was held; the admin is not created (a
    /// command does what it was asked, nothing else). Nobody starts the purge schedule: only
    /// Rocket's liftoff does.
    Command(Option<InstanceLock>),
}

/// Reads and validates the configuration from `figment` (as start-up does) and builds the
/// application.
pub async fn build_app(figment: &Figment, start: Start) -> Result<App, String> {
    let config = validated_config(figment)?;
    assemble(config, start).await
}

/// Opens and migrates the database and builds every service from `config`; the error names
/// the cause.
pub async fn assemble(config: AppConfig, start: Start) -> Result<App, String> {
    let settings = PoolSettings::of(&config);
    let (instance_lock, bootstrap) = match (start, &config.database) {
        (Start::Server, DatabaseUrl::Sqlite(path)) => (
            Some(InstanceLock::acquire(path).map_err(|e| e.to_string())?),
            true,
        ),
        (Start::Server, DatabaseUrl::Postgres(_)) => (None, true),
        (Start::Command(lock), _) => (lock, false),
    };
    let db = Db::connect(config.database.clone(), settings)
        .await
        .map_err(|e| format!("cannot open the {}: {e}", config.database))?;
    let metrics = Metrics::new();
    let (revocation, background) =
        Revocation::start(db.clone(), config.revocation, metrics.clone()).await?;
    let floods = Arc::new(Floods::default());
    let purge = jobs::schedule(
        revocation.clone(),
        metrics.clone(),
        &config.purge_schedule,
        config.purge_batch_size,
        jobs::AuditJobs {
            db: db.clone(),
            floods: floods.clone(),
            retention: config.audit_retention,
        },
    )
    .await?;
    // The User-Agent rules are compiled once, here, off the async workers: the first login
    // would otherwise pay it on one.
    tokio::task::spawn_blocking(auth::device_label::warm_up)
        .await
        .map_err(|e| e.to_string())?;
    let password = config.password;
    let hasher =
        tokio::task::spawn_blocking(move || PasswordHasher::new(password.threads, password.queue))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    if let Some((name, password)) = config.admin.as_ref().filter(|_| bootstrap) {
        bootstrap_admin(&db.for_start_up(), &hasher, name, password).await?;
    }
    let ring = KeyRing::new(&config.keys.signing, &config.jwt_issuer);
    let passkeys = auth::passkeys::Passkeys::new(&config.webauthn)?;
    Ok(App {
        codec: TokenCodec::new(ring, &config.jwt_issuer, config.token_ttl, metrics.clone()),
        refresh_tokens: RefreshTokens::new(&config.keys.server_secret),
        mfa: MfaKeys::new(&config.keys.server_secret),
        passkeys,
        throttle: LoginThrottle::new(config.throttle, &config.keys.server_secret),
        config,
        db,
        revocation,
        background,
        instance_lock,
        hasher,
        purge,
        metrics,
        floods,
    })
}

/// Creates the configured admin on first start. An existing admin of that name is left as it is
/// (the configured password is not applied: it may have been changed since). An existing user
/// who is not an admin stops start-up: whoever signed up first under that name (perhaps a
/// stranger, before the operator configured it) must not be silently taken for the admin, nor
/// silently made one.
async fn bootstrap_admin(
    db: &Db,
    hasher: &PasswordHasher,
    name: &Username,
    password: &Password,
) -> Result<(), String> {
    let by = (audit::Actor::System, audit::Source::default());
    match auth::accounts::create(db, hasher, name, password, Role::Admin, by).await {
        Ok(()) => {
            rocket::info!("created admin `{name}`");
            return Ok(());
        }
        Err(AuthError::UsernameTaken) => {}
        Err(e) => {
            let answer = http::ApiError::from(e);
            return Err(format!(
                "cannot create admin `{name}`: {}",
                answer.message()
            ));
        }
    }
    let lookup = name.as_str().to_owned();
    let existing = db
        .run(move |conn| db::users::find(conn, &lookup))
        .await
        .map_err(|e| format!("cannot look up admin `{name}`: {e}"))?;
    match existing.map(|user| Role::from_stored(&user.role)) {
        Some(Role::Admin) => {
            rocket::info!("admin `{name}` exists; admin_password is not applied to it");
            Ok(())
        }
        Some(_) => Err(format!(
            "admin_username `{name}` names an existing user who is not an admin; promote them \
             (PATCH /api/users/{name} with {{\"role\":\"admin\"}}, as another admin) or set \
             admin_username to another name"
        )),
        // Taken, then gone before the lookup (deleted meanwhile): not an admin either way.
        None => Err(format!(
            "admin_username `{name}` was taken and then removed during start-up; start again"
        )),
    }
}
