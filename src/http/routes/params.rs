//! Query parameters: parsed by hand so that a bad one is a 422 naming it (Rocket's own parsing
//! would forward to a 404), and refused when repeated where one value is meant.

use rocket::http::uri::Origin;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::http::error::ApiError;

/// Refuses a query parameter given more than once: Rocket keeps one of the values and drops the
/// others unseen (`offset=null&offset=1` would list from 0), so a repeated page is ambiguous.
pub(super) fn given_at_most_once(uri: &Origin<'_>, name: &str) -> Result<(), ApiError> {
    let count = uri
        .query()
        .map_or(0, |q| q.segments().filter(|(key, _)| *key == name).count());
    if count > 1 {
        return Err(ApiError::Unprocessable(format!(
            "{name} is given more than once"
        )));
    }
    Ok(())
}

pub(super) fn parse_param(
    name: &str,
    raw: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    raw.parse::<i64>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "{name} must be an integer from {} to {}",
                range.start(),
                range.end()
            ))
        })
}

/// An RFC 3339 instant, if given.
pub(super) fn parse_time(
    name: &str,
    raw: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    raw.map(|raw| {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map_err(|_| ApiError::Unprocessable(format!("{name} must be an RFC 3339 date-time")))
    })
    .transpose()
}

/// The query string of a request whose parameters are read by name: a route that reads many
/// parameters takes this one guard instead of one argument each.
pub(super) struct Params<'a> {
    uri: &'a Origin<'a>,
}

impl<'a> Params<'a> {
    pub(super) fn of(uri: &'a Origin<'a>) -> Self {
        Self { uri }
    }

    /// Every value of `name`, in order.
    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.uri.query().map_or_else(Vec::new, |q| {
            q.segments()
                .filter(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
                .collect()
        })
    }

    /// The value of `name`, if given; 422 when given more than once.
    pub(super) fn one(&self, name: &str) -> Result<Option<String>, ApiError> {
        given_at_most_once(self.uri, name)?;
        Ok(self.all(name).into_iter().next())
    }
}
