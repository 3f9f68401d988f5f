//! Authentication: tokens, the cookie that carries them, password hashing, the login throttle,
//! the same-origin rule for state-changing requests, and the request guards built on them.

pub mod accounts;
pub mod claims;
pub mod cookie;
pub mod device;
pub mod guard;
pub mod login;
pub mod origin;
pub mod password;
pub mod refresh;
pub mod sessions;
pub mod throttle;
pub mod verified;
