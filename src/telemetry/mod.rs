//! What the server tells its operators: Prometheus metrics (`metrics.rs`), and the logger that
//! writes every line (per request: `http/request_log.rs`; per purge: `jobs.rs`) as text or JSON
//! (`logger.rs`).

pub mod logger;
pub mod metrics;
