//! The in-memory mode's state: the view, the rule that says whether it may answer, and on
//! PostgreSQL the listener that keeps it current with the other instances.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use time::OffsetDateTime;

use super::{check_view, listener, load, CheckError, Freshness, Presented, View};
use crate::config::RevocationSettings;
use crate::db::Db;

#[derive(Clone)]
pub(super) struct Memory {
    pub(super) view: Arc<View>,
    pub(super) freshness: Arc<Freshness>,
    pub(super) listener: Option<Arc<listener::Shared>>,
}

impl Memory {
    pub(super) async fn start(
        db: &Db,
        settings: RevocationSettings,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, String> {
        let rows = db
            .for_start_up()
            .run(load::expected)
            .await
            .map_err(|e| format!("cannot size the revocation view: {e}"))?;
        let view = Arc::new(View::with_capacity(rows));
        if !db.is_postgres() {
            // One process owns the file (see `db::instance_lock`): write-through sees every
            // revocation, so the view is current from the moment it is loaded.
            let target = view.clone();
            let loaded = db
                .for_start_up()
                .run(move |conn| load::everything(conn, &target, OffsetDateTime::now_utc()))
                .await
                .map_err(|e| format!("cannot load the revocation view: {e}"))?;
            log::info!("revocation view: {loaded} revoked token ids loaded");
            return Ok(Self {
                view,
                freshness: Arc::new(Freshness::always()),
                listener: None,
            });
        }
        let freshness = Arc::new(Freshness::bounded(settings.max_staleness));
        let shared = Arc::new(listener::Shared {
            db: db.clone(),
            view: view.clone(),
            freshness: freshness.clone(),
            max_staleness: settings.max_staleness,
            stop,
            sessions: AtomicU64::new(0),
        });
        let started = listener::spawn(shared.clone())
            .map_err(|e| format!("cannot start the revocation listener: {e}"))?;
        let loaded = started
            .await
            .map_err(|_| "the revocation listener stopped during start-up".to_owned())?
            .map_err(|e| format!("the revocation listener could not start: {e}"))?;
        log::info!(
            "revocation view: {loaded} revoked token ids loaded; listening for other instances"
        );
        Ok(Self {
            view,
            freshness,
            listener: Some(shared),
        })
    }

    pub(super) fn check(&self, token: &Presented<'_>) -> Result<bool, CheckError> {
        check_view(&self.view, &self.freshness, token)
    }
}
