//! Where a request came from, for the audit trail: the client's address (as Rocket resolves it,
//! through `ip_header` when one is configured) and its cleaned User-Agent.

use rocket::request::{FromRequest, Outcome, Request};

use crate::audit::Source;
use crate::auth::session_tokens::clean_user_agent;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Source {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Source {
            ip: req.client_ip(),
            user_agent: Some(clean_user_agent(req.headers().get_one("User-Agent"))),
        })
    }
}
