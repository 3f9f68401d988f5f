//! The one application state: settings, the database, and every service built from them.
//! Built once at start-up; a handler takes its guards, its body and `&App`, and passes it to
//! the services, which take what they need from it.

use std::sync::Arc;

use crate::audit::floods::Floods;
use crate::auth::claims::TokenCodec;
use crate::auth::mfa::sealing::MfaKeys;
use crate::auth::passkeys::Passkeys;
use crate::auth::password::PasswordHasher;
use crate::auth::refresh::RefreshTokens;
use crate::auth::throttle::LoginThrottle;
use crate::config::AppConfig;
use crate::db::instance_lock::InstanceLock;
use crate::db::Db;
use crate::jobs::PurgeJob;
use crate::revocation::{Revocation, Shutdown};
use crate::telemetry::metrics::Metrics;

pub struct App {
    pub config: AppConfig,
    pub db: Db,
    /// Where every revocation is decided and committed.
    pub revocation: Revocation,
    /// Signs and verifies access tokens.
    pub codec: TokenCodec,
    pub refresh_tokens: RefreshTokens,
    pub hasher: PasswordHasher,
    /// Seals TOTP secrets and hashes recovery codes.
    pub mfa: MfaKeys,
    /// Checks passkey ceremonies (the relying party of `webauthn_*`).
    pub passkeys: Passkeys,
    pub throttle: LoginThrottle,
    pub metrics: Metrics,
    pub purge: PurgeJob,
    /// Throttled attempts counted for the audit trail, written by the schedule.
    pub floods: Arc<Floods>,
    /// Stops the background threads when the server stops.
    pub background: Shutdown,
    /// SQLite only: held while the server runs, so that a second process is refused.
    pub instance_lock: Option<InstanceLock>,
}
