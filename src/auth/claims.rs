//! The JWT: its claims, and the one place tokens are signed and validated.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::keys::{Key, KeyRing};
use super::verified::VerifiedTokens;
use crate::domain::Role;
use crate::telemetry::metrics::Metrics;

/// Tokens longer than this are refused before any parsing: ours are a few hundred bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// What a session token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// A time-ordered (v7) UUID that we minted: its order is the order of issue, which the
    /// per-user cut-offs compare with. A token whose `jti` is anything else is invalid.
    pub jti: Uuid,
    /// The session this token belongs to.
    pub sid: Uuid,
    /// The account's id, which outlives nothing of the name: a re-created username is another
    /// account.
    pub uid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

impl Claims {
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Whom a token is issued to: the account's id, its name as stored, and its role.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub uid: Uuid,
    pub username: &'a str,
    pub role: Role,
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Signs and validates tokens, each with the key its header's `kid` names (see [`KeyRing`]).
pub struct TokenCodec {
    ring: KeyRing,
    issuer: String,
    ttl: Duration,
    verified: VerifiedTokens,
    metrics: Metrics,
}

impl TokenCodec {
    pub fn new(ring: KeyRing, issuer: &str, ttl: Duration, metrics: Metrics) -> Self {
        for kid in ring.kids() {
            metrics.signing_key(kid);
        }
        Self {
            ring,
            issuer: issuer.to_owned(),
            ttl,
            verified: VerifiedTokens::default(),
            metrics,
        }
    }

    /// Issues a fresh token (new time-ordered `jti`) for session `sid`, valid for the
    /// configured lifetime from `now`.
    pub fn issue(
        &self,
        to: Subject<'_>,
        sid: Uuid,
        now: OffsetDateTime,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        self.issue_with_id(to, sid, Uuid::now_v7(), now)
    }

    /// Issues a token with the id `jti`, chosen by the caller (one recorded before signing),
    /// signed by the key that signs at `now`.
    pub fn issue_with_id(
        &self,
        to: Subject<'_>,
        sid: Uuid,
        jti: Uuid,
        now: OffsetDateTime,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        self.issue_until(to, sid, jti, now, None)
    }

    /// As [`Self::issue_with_id`], expiring at `until` if that comes before the configured
    /// lifetime ends: a session's last tokens end with the session.
    pub fn issue_until(
        &self,
        to: Subject<'_>,
        sid: Uuid,
        jti: Uuid,
        now: OffsetDateTime,
        until: Option<OffsetDateTime>,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let iat = now.unix_timestamp();
        let full = iat + self.ttl.as_secs() as i64;
        let claims = Claims {
            sub: to.username.to_owned(),
            role: to.role,
            jti,
            sid,
            uid: to.uid,
            iat,
            exp: until.map_or(full, |u| full.min(u.unix_timestamp())),
            iss: self.issuer.clone(),
        };
        let key = self.ring.signing(now).ok_or(ErrorKind::InvalidKeyFormat)?;
        let token = jsonwebtoken::encode(&key.header(), &claims, &key.encoding)?;
        self.metrics.token_issued(&key.kid);
        Ok((token, claims))
    }

    /// Checks the key (`kid` and `alg`), signature, issuer and expiry (with at most
    /// `LEEWAY_SECS` of skew). A token verified before is not verified again, only its expiry is
    /// (see `verified`): the cache lives in this process, so a key removed from the
    /// configuration verifies nothing after the restart.
    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        self.decode_and(token, Remember::Yes)
    }

    /// As [`Self::decode`], but a token verified now is not remembered. For logout: its tokens
    /// are about to be revoked, and under a storm of logouts each would take a place in the
    /// cache (a full shard is emptied) from the token of a session still in use.
    pub fn decode_once(&self, token: &str) -> Result<Claims, TokenError> {
        self.decode_and(token, Remember::No)
    }

    fn decode_and(&self, token: &str, remember: Remember) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(claims) = self.verified.get(token, now) {
            return Ok(Claims::clone(&claims));
        }
        let key = self.key_of(token)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &key.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        if !ours(&data.claims) {
            return Err(TokenError::Invalid);
        }
        if remember == Remember::Yes {
            self.verified
                .insert(token, std::sync::Arc::new(data.claims.clone()));
        }
        Ok(data.claims)
    }

    /// Checks the key, signature and issuer but not the expiry: for logout, which ends the
    /// session even of a token that has expired. Never for access.
    pub fn decode_any_age(&self, token: &str) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let key = self.key_of(token)?;
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &key.validation_any_age)
            .map(|data| data.claims)
            .ok()
            .filter(ours)
            .ok_or(TokenError::Invalid)
    }

    /// The one key that may verify `token`, from its header; never several tried in turn.
    fn key_of(&self, token: &str) -> Result<&Key, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        self.ring.verifying(&header).ok_or(TokenError::Invalid)
    }

    /// The keys, for the JWKS document.
    pub fn keys(&self) -> &KeyRing {
        &self.ring
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Whether a token verified by [`TokenCodec::decode_and`] goes into the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remember {
    Yes,
    No,
}

/// Whether the claims are of a token this server issues: a time-ordered `jti`.
fn ours(claims: &Claims) -> bool {
    claims.jti.get_version_num() == 7
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LEEWAY_SECS;

    const ALICE: Subject<'static> = Subject {
        uid: Uuid::nil(),
        username: "alice",
        role: Role::User,
    };

    fn codec() -> TokenCodec {
        let key = crate::config::SigningKey {
            kid: "test".into(),
            material: crate::config::KeyMaterial::Hs256(crate::config::tests_secret()),
            sign_from: None,
        };
        TokenCodec::new(
            KeyRing::new(&[key], "test-issuer"),
            "test-issuer",
            Duration::from_secs(60),
            Metrics::new(),
        )
    }

    #[test]
    fn an_issued_token_decodes_to_the_same_claims() {
        let codec = codec();
        let (token, claims) = codec
            .issue(ALICE, Uuid::now_v7(), OffsetDateTime::now_utc())
            .expect("issue");
        assert_eq!(codec.decode(&token), Ok(claims));
    }

    #[test]
    fn once_a_token_is_verified_a_tampered_copy_is_still_refused() {
        let codec = codec();
        let (token, claims) = codec
            .issue(ALICE, Uuid::now_v7(), OffsetDateTime::now_utc())
            .expect("issue");
        assert_eq!(codec.decode(&token), Ok(claims.clone()));
        assert_eq!(codec.decode(&token), Ok(claims), "the second decode agrees");
        let (payload, signature) = token.rsplit_once('.').expect("three parts");
        let flipped = if signature.ends_with('A') { 'B' } else { 'A' };
        let tampered = format!("{payload}.{}{flipped}", &signature[..signature.len() - 1]);
        assert_eq!(codec.decode(&tampered), Err(TokenError::Invalid));
        let (header, body) = payload.split_once('.').expect("header");
        let forged_body = format!("{header}.{body}x.{signature}");
        assert_eq!(codec.decode(&forged_body), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_decoded_once_is_not_remembered_and_a_remembered_one_still_hits() {
        let codec = codec();
        let now = OffsetDateTime::now_utc();
        let (leaving, claims) = codec.issue(ALICE, Uuid::now_v7(), now).expect("issue");
        assert_eq!(codec.decode_once(&leaving), Ok(claims));
        assert!(
            !codec.verified.holds(&leaving),
            "a logout's token is not cached"
        );
        let (staying, claims) = codec.issue(ALICE, Uuid::now_v7(), now).expect("issue");
        assert_eq!(codec.decode(&staying), Ok(claims.clone()));
        assert!(codec.verified.holds(&staying));
        assert_eq!(
            codec.decode_once(&staying),
            Ok(claims),
            "a cached token still decodes"
        );
        assert!(codec.verified.holds(&staying), "and stays cached");
    }

    #[test]
    fn a_token_past_its_expiry_and_the_leeway_is_expired() {
        let codec = codec();
        let long_ago =
            OffsetDateTime::now_utc() - time::Duration::seconds(60 + LEEWAY_SECS as i64 + 2);
        let (token, _) = codec.issue(ALICE, Uuid::now_v7(), long_ago).expect("issue");
        assert_eq!(codec.decode(&token), Err(TokenError::Expired));
        assert!(
            codec.decode_any_age(&token).is_ok(),
            "logout still reads it"
        );
        let (payload, _) = token.rsplit_once('.').expect("three parts");
        assert_eq!(
            codec.decode_any_age(&format!("{payload}.AAAA")),
            Err(TokenError::Invalid),
            "but only with a valid signature"
        );
    }

    #[test]
    fn a_token_without_a_session_or_with_an_id_that_is_not_time_ordered_is_invalid() {
        let codec = codec();
        let now = OffsetDateTime::now_utc();
        let (v4, _) = codec
            .issue_with_id(ALICE, Uuid::now_v7(), Uuid::new_v4(), now)
            .expect("issue");
        assert_eq!(codec.decode(&v4), Err(TokenError::Invalid));
        assert_eq!(codec.decode_any_age(&v4), Err(TokenError::Invalid));
        let (_, mut claims) = codec.issue(ALICE, Uuid::now_v7(), now).expect("issue");
        claims.jti = Uuid::now_v7();
        let mut without_sid = serde_json::to_value(&claims).expect("claims");
        without_sid.as_object_mut().expect("object").remove("sid");
        let secret = crate::config::tests_secret();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("test".into());
        let token = jsonwebtoken::encode(
            &header,
            &without_sid,
            &jsonwebtoken::EncodingKey::from_secret(secret.expose()),
        )
        .expect("encode");
        assert_eq!(codec.decode(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn an_oversized_token_is_refused_without_parsing() {
        assert_eq!(
            codec().decode(&"a".repeat(MAX_TOKEN_LEN + 1)),
            Err(TokenError::Invalid)
        );
    }
}
