//! The schedule: runs [`purge`] on the `purge_schedule` cron expression (six fields, seconds
//! first), then the audit trail's retention; and writes counted throttled attempts every
//! [`FLOODS_SCHEDULE`]. The expression is parsed at ignite so a typo stops start-up.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use std::time::Instant;

use crate::audit::floods::Floods;
use crate::audit::{self, Kind};
use crate::db::{Db, DbError};
use crate::revocation::Revocation;
use crate::telemetry::metrics::Metrics;

/// The scheduler, built at ignite and started at liftoff. Cheap to clone.
#[derive(Clone)]
pub struct PurgeJob(Arc<Mutex<JobScheduler>>);

impl PurgeJob {
    pub async fn start(&self) -> Result<(), String> {
        self.0.lock().await.start().await.map_err(|e| e.to_string())
    }

    /// Stops the schedule (when the server stops).
    pub async fn stop(&self) {
        let _ = self.0.lock().await.shutdown().await;
    }
}

/// One purge run, by the schedule or an admin (`trigger`): counted in the metrics and logged
/// in one line, with the rows removed (expired blacklist rows, dead sessions) and the time taken.
/// Sessions past their idle or absolute end are ended first (`session.expired`), so that the
/// rows removed after them have their event.
pub async fn purge(
    revocation: &Revocation,
    metrics: &Metrics,
    batch: i64,
    trigger: &'static str,
) -> Result<usize, DbError> {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let (expired, result) = match revocation.end_expired(now, batch).await {
        Ok(expired) => (expired, revocation.purge(now, batch).await),
        Err(e) => (0, Err(e)),
    };
    let took_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    metrics.purged(&result);
    match &result {
        Ok(rows) => log::info!(
            target: "jwt_blacklist::purge",
            trigger = trigger,
            rows = *rows,
            expired = expired,
            took_ms = took_ms;
            "purge"
        ),
        Err(e) => log::error!(
            target: "jwt_blacklist::purge",
            trigger = trigger,
            took_ms = took_ms;
            "purge failed, will retry on the next run: {e}"
        ),
    }
    result
}

/// How often counted throttled attempts are written: the longest an admin waits to see a flood.
pub const FLOODS_SCHEDULE: &str = "*/5 * * * * *";

/// What the audit trail's jobs need.
#[derive(Clone)]
pub struct AuditJobs {
    pub db: Db,
    pub floods: Arc<Floods>,
    pub retention: std::time::Duration,
}

impl AuditJobs {
    /// Deletes events past their retention, logged in one line.
    pub async fn purge(&self, batch: i64) {
        match audit::purge(&self.db, self.retention, batch).await {
            Ok(rows) => log::info!(target: "jwt_blacklist::purge", rows = rows; "audit purge"),
            Err(e) => log::error!(
                target: "jwt_blacklist::purge",
                "audit purge failed, will retry on the next run: {e}"
            ),
        }
    }

    /// Writes the throttled attempts counted since the last flush.
    pub async fn flush(&self, metrics: &Metrics) {
        if let Ok(rows) = self.floods.flush(&self.db).await {
            metrics.audit_events(Kind::LoginThrottled, rows as u64);
        }
    }
}

/// Refuses an expression the scheduler would refuse: parsed by the scheduler itself (a job that
/// does nothing), so that `check-config` and start-up cannot disagree. Needs no runtime.
pub fn check_schedule(expression: &str) -> Result<(), String> {
    Job::new_async(expression, |_id, _lock| Box::pin(async {}))
        .map(drop)
        .map_err(|_| invalid_schedule(expression))
}

fn invalid_schedule(expression: &str) -> String {
    format!(
        "purge_schedule `{expression}` is not a valid cron expression (six fields, seconds \
         first, e.g. `0 * * * * *`)"
    )
}

/// Builds the scheduler with the purge and flood jobs; the error names the bad expression.
pub async fn schedule(
    revocation: Revocation,
    metrics: Metrics,
    expression: &str,
    batch: i64,
    audit: AuditJobs,
) -> Result<PurgeJob, String> {
    let flush = {
        let (audit, metrics) = (audit.clone(), metrics.clone());
        Job::new_async(FLOODS_SCHEDULE, move |_id, _lock| {
            let (audit, metrics) = (audit.clone(), metrics.clone());
            Box::pin(async move { audit.flush(&metrics).await })
        })
        .map_err(|e| format!("cannot build the flood job: {e}"))?
    };
    let job = Job::new_async(expression, move |_id, _lock| {
        let revocation = revocation.clone();
        let metrics = metrics.clone();
        let audit = audit.clone();
        Box::pin(async move {
            let _ = purge(&revocation, &metrics, batch, "schedule").await;
            audit.purge(batch).await;
            crate::auth::mfa::challenge::purge_expired(&audit.db, batch).await;
            crate::auth::passkeys::ceremony::purge_expired(&audit.db, batch).await;
        })
    })
    .map_err(|_| invalid_schedule(expression))?;
    let scheduler = JobScheduler::new()
        .await
        .map_err(|e| format!("cannot create the scheduler: {e}"))?;
    scheduler
        .add(job)
        .await
        .map_err(|e| format!("cannot add the purge job: {e}"))?;
    scheduler
        .add(flush)
        .await
        .map_err(|e| format!("cannot add the flood job: {e}"))?;
    Ok(PurgeJob(Arc::new(Mutex::new(scheduler))))
}
