//! Authentication, free of HTTP: accounts, the login and its second factor, a session's token
//! pairs, the token codec and its key ring, password hashing, device trust and the login
//! throttle. Each returns a domain outcome or an
//! [`error::AuthError`]; the HTTP layer (`crate::http`) says which status that is.

pub mod accounts;
pub mod admin;
pub mod claims;
pub mod device;
pub mod device_label;
pub mod error;
pub mod keys;
pub mod lifetime;
pub mod login;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod refresh;
pub mod session_tokens;
pub mod throttle;
pub mod verified;
