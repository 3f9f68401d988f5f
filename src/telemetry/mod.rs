//! What the server tells its operators: Prometheus metrics (`metrics.rs`), one log line per
//! request and per purge (`requests.rs`, `jobs.rs`), written as text or JSON (`logger.rs`).

pub mod logger;
pub mod metrics;
pub mod requests;
