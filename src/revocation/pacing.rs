//! The purge's pace: batches sized and spaced by how long the last one took.
//!
//! A purge of a million rows under full load must neither take minutes nor take the CPU (and,
//! on SQLite, the write lock) from requests. At a lower thread priority it did the first:
//! under load a nice +10 thread gets a tenth of a core, and 1 000 000 rows took 35 s. So the
//! purge runs at normal priority and paces itself instead. Each batch should take about
//! [`TARGET`] (a logout waiting behind it on SQLite's write lock waits no longer), so the next
//! batch's size follows the last one's rows per second; after each batch the purge rests as
//! long as the batch took, which leaves requests at least half of the core it runs on however
//! slow the machine or large the table. Rows are deleted in as many round trips as it takes,
//! each in its own short transaction.

use std::time::{Duration, Instant};

/// How long one batch should take. While a batch runs it shares the core with the request
/// workers, and a request that waits behind it waits up to a scheduler slice; 5 ms keeps
/// `GET /api/me`'s p99 during a purge of 1 100 000 rows under full load within twice its idle
/// p99 on PostgreSQL (1.2-1.6x) and about there on SQLite (1.8-2.3x, the server on one core),
/// where 20 ms batches gave 2.4-3.3x and 10 ms 2.1-3.1x. Smaller batches cost time: SQLite's
/// purge took 16-17 s instead of 14-15.5 s, PostgreSQL's 9-11 s instead of 5 s.
pub const TARGET: Duration = Duration::from_millis(5);

/// The largest batch, whatever the rate.
pub const MAX_BATCH: i64 = 20_000;

/// The smallest batch, unless the configured size is smaller still.
const MIN_BATCH: i64 = 100;

/// A batch size that follows the time each batch takes.
#[derive(Debug, Clone)]
pub struct Pacer {
    batch: i64,
    min: i64,
    /// Time spent deleting, and resting, so far.
    pub busy: Duration,
    pub rested: Duration,
}

impl Pacer {
    /// Starts at `first` rows per batch (`purge_batch_size`).
    pub fn new(first: i64) -> Self {
        let first = first.clamp(1, MAX_BATCH);
        Self {
            batch: first,
            min: first.min(MIN_BATCH),
            busy: Duration::ZERO,
            rested: Duration::ZERO,
        }
    }

    /// The next batch's size.
    pub fn batch(&self) -> i64 {
        self.batch
    }

    /// After a batch of `rows` (the size asked) that took `took`: sizes the next batch toward
    /// [`TARGET`] (at most doubling or halving at a time, so that one slow batch, a lock or a
    /// page fault, does not swing it) and returns how long to rest first.
    pub fn after(&mut self, took: Duration) -> Duration {
        self.busy += took;
        let took_s = took.as_secs_f64().max(1e-6);
        let ideal = self.batch as f64 * TARGET.as_secs_f64() / took_s;
        let next = ideal.clamp(self.batch as f64 / 2.0, self.batch as f64 * 2.0);
        self.batch = (next as i64).clamp(self.min, MAX_BATCH);
        self.rested += took;
        took
    }

    /// Runs `step` (deletes up to the given number of rows, returns how many it deleted) until
    /// a batch comes back short, resting between batches; returns the rows deleted.
    pub fn drain<E>(&mut self, mut step: impl FnMut(i64) -> Result<usize, E>) -> Result<usize, E> {
        let mut total = 0;
        loop {
            let asked = self.batch;
            let started = Instant::now();
            let deleted = step(asked)?;
            total += deleted;
            if (deleted as i64) < asked {
                self.busy += started.elapsed();
                return Ok(total);
            }
            let rest = self.after(started.elapsed());
            std::thread::sleep(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_batch_grows_the_next_and_a_slow_one_shrinks_it_by_at_most_two() {
        let mut pacer = Pacer::new(500);
        assert_eq!(
            pacer.after(TARGET / 10),
            TARGET / 10,
            "rests as long as it worked"
        );
        assert_eq!(pacer.batch(), 1000);
        pacer.after(TARGET / 2);
        assert_eq!(pacer.batch(), 2000);
        pacer.after(TARGET * 10);
        assert_eq!(pacer.batch(), 1000);
        pacer.after(TARGET * 2);
        assert_eq!(pacer.batch(), 500);
        pacer.after(TARGET);
        assert_eq!(pacer.batch(), 500, "on target, unchanged");
    }

    #[test]
    fn the_batch_stays_between_its_bounds() {
        let mut pacer = Pacer::new(500);
        for _ in 0..40 {
            pacer.after(Duration::from_micros(1));
        }
        assert_eq!(pacer.batch(), MAX_BATCH);
        for _ in 0..40 {
            pacer.after(Duration::from_secs(1));
        }
        assert_eq!(pacer.batch(), MIN_BATCH);
        let mut small = Pacer::new(7);
        small.after(Duration::from_secs(1));
        assert_eq!(
            small.batch(),
            7,
            "a configured size below the floor is the floor"
        );
    }

    #[test]
    fn drain_stops_at_the_first_short_batch_and_counts_every_row() {
        let mut pacer = Pacer::new(100);
        let mut left = 250_usize;
        let mut calls = 0;
        let deleted = pacer
            .drain(|asked| {
                calls += 1;
                let n = left.min(asked as usize);
                left -= n;
                Ok::<_, ()>(n)
            })
            .expect("no error");
        assert_eq!(deleted, 250);
        assert_eq!(left, 0);
        assert!(calls >= 2, "{calls} batches");
    }
}
