//! Rocket's own settings (address, port, client-address header, log level, body limits), as
//! Rocket reads them at start-up, for `check-config` to show: the command line stays free of
//! Rocket's types.

use rocket::figment::Figment;

/// The settings Rocket itself takes, as text.
pub struct ServerSettings {
    pub address: String,
    pub port: u16,
    /// `None`: no header is trusted for the client's address.
    pub ip_header: Option<String>,
    pub log_level: String,
    /// A body limit by its name (`json`, `form`, `data-form`); `None` when unset.
    limits: rocket::data::Limits,
}

impl ServerSettings {
    /// Reads them as Rocket would; the error is Rocket's, for `invalid configuration: ...`.
    pub fn from_figment(figment: &Figment) -> Result<Self, String> {
        let config = rocket::Config::try_from(figment).map_err(|e| e.to_string())?;
        Ok(Self {
            address: config.address.to_string(),
            port: config.port,
            ip_header: config.ip_header.as_ref().map(|h| h.as_str().to_owned()),
            log_level: config.log_level.to_string(),
            limits: config.limits,
        })
    }

    /// The body limit `name`, as Rocket prints sizes (`16 KiB`).
    pub fn limit(&self, name: &str) -> Option<String> {
        self.limits.get(name).map(|b| b.to_string())
    }
}
