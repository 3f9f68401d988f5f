//! The integration suite: one binary, a file per URL family, each test on its own database.

mod bad_input;
mod blacklist;
mod cookies;
mod csrf;
mod devices;
mod floods;
mod forward_auth;
mod fuzz;
mod guard;
mod health;
mod helpers;
mod instances;
mod jobs;
mod layers;
mod metrics;
mod openapi;
mod pages;
mod postgres;
mod races;
mod refresh;
mod revocation;
mod session;
mod sessions;
mod throttle;
mod timeouts;
mod users;
