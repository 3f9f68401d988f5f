//! Passkey settings: whom the browser signs for. Checked at start-up by webauthn-rs's own rules
//! (the origin's host must be the RP id or under it), so a mismatch stops the server naming its
//! keys instead of every registration failing later.

use url::Url;
use webauthn_rs::prelude::{Webauthn, WebauthnBuilder};

use super::ConfigError;

/// `webauthn_rp_id`, `webauthn_origin`, `webauthn_rp_name`.
#[derive(Debug, Clone)]
pub struct WebauthnSettings {
    /// The domain credentials are bound to (`localhost`, `example.com`): never an IP address.
    pub rp_id: String,
    /// The exact origin the pages are served from, scheme and port included: an assertion made
    /// on any other origin is refused.
    pub origin: Url,
    /// What the authenticator shows the user.
    pub rp_name: String,
}

impl WebauthnSettings {
    pub(super) fn parse(rp_id: String, origin: &str, rp_name: String) -> Result<Self, ConfigError> {
        let origin = Url::parse(origin)
            .map_err(|e| ConfigError(format!("webauthn_origin `{origin}`: {e}")))?;
        if rp_name.trim().is_empty() {
            return Err(ConfigError("webauthn_rp_name must not be empty".into()));
        }
        let settings = Self {
            rp_id,
            origin,
            rp_name,
        };
        settings.build().map_err(|e| {
            ConfigError(format!(
                "webauthn_rp_id and webauthn_origin do not go together (the origin's host must be the RP id or under it): {e}"
            ))
        })?;
        Ok(settings)
    }

    /// The relying party these settings describe.
    pub fn build(&self) -> Result<Webauthn, webauthn_rs::prelude::WebauthnError> {
        WebauthnBuilder::new(&self.rp_id, &self.origin)?
            .rp_name(&self.rp_name)
            .build()
    }
}
