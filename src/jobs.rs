//! The purge schedule: runs `Revocation::purge` on the `purge_schedule` cron expression
//! (six fields, seconds first). The expression is parsed at ignite so a typo stops start-up.

use rocket::fairing::AdHoc;
use rocket::tokio::sync::Mutex;
use time::OffsetDateTime;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::revocation::Revocation;

/// The scheduler, built at ignite and started at liftoff.
pub struct PurgeJob(Mutex<JobScheduler>);

/// Builds the scheduler with the purge job; the error names the bad expression.
pub async fn schedule(
    revocation: Revocation,
    expression: &str,
    batch: i64,
) -> Result<PurgeJob, String> {
    let job = Job::new_async(expression, move |_id, _lock| {
        let revocation = revocation.clone();
        Box::pin(async move {
            match revocation.purge(OffsetDateTime::now_utc(), batch).await {
                Ok(0) => {}
                Ok(n) => rocket::info!("purge: removed {n} expired blacklist rows"),
                Err(e) => rocket::error!("purge failed, will retry on the next tick: {e}"),
            }
        })
    })
    .map_err(|_| {
        format!("purge_schedule `{expression}` is not a valid cron expression (six fields, seconds first, e.g. `0 * * * * *`)")
    })?;
    let scheduler = JobScheduler::new()
        .await
        .map_err(|e| format!("cannot create the scheduler: {e}"))?;
    scheduler
        .add(job)
        .await
        .map_err(|e| format!("cannot add the purge job: {e}"))?;
    Ok(PurgeJob(Mutex::new(scheduler)))
}

/// Starts the scheduler once the server is up, and stops it on shutdown.
pub fn fairing() -> AdHoc {
    AdHoc::on_liftoff("purge schedule", |rocket| {
        Box::pin(async move {
            if let Some(job) = rocket.state::<PurgeJob>() {
                if let Err(e) = job.0.lock().await.start().await {
                    rocket::error!("the purge schedule did not start: {e}");
                }
            }
        })
    })
}

pub fn stop() -> AdHoc {
    AdHoc::on_shutdown("stop purge schedule", |rocket| {
        Box::pin(async move {
            if let Some(job) = rocket.state::<PurgeJob>() {
                let _ = job.0.lock().await.shutdown().await;
            }
        })
    })
}
