//! A software WebAuthn authenticator plus the browser glue around it, so the API tests can run
//! the whole passkey ceremony without a browser or a hardware key.
//!
//! It reads the JSON the server hands to `navigator.credentials.create()` / `.get()` and returns
//! the JSON a browser would post back. Every field a relying party must check has a public knob,
//! so a test can forge exactly one thing and see the server refuse it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use rand::Rng as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// User present: without it every relying party must refuse the ceremony.
const FLAG_UP: u8 = 0x01;
/// User verified: passkeys stand in for a password, so webauthn-rs demands it.
const FLAG_UV: u8 = 0x04;
/// Attested credential data follows the counter; set on registration only.
const FLAG_AT: u8 = 0x40;

/// One credential on one make-believe device.
///
/// The fields are public on purpose: a test falsifies a ceremony by changing one of them
/// between (or before) calls, and the server must notice.
pub struct SoftAuthenticator {
    key: SigningKey,
    /// Raw credential id; random so two authenticators never collide.
    pub credential_id: Vec<u8>,
    /// What the "browser" writes as `origin` in clientDataJSON.
    pub origin: String,
    /// What the "authenticator" hashes into authData; a phishing site would have another one.
    pub rp_id: String,
    /// Signature counter as last reported; set it back to impersonate a cloned key.
    pub counter: u32,
    /// Added to `counter` before each assertion; 0 models the many passkeys that never count.
    pub counter_step: u32,
    /// Whether the UV flag is set, i.e. whether a PIN or biometric was "checked".
    pub user_verified: bool,
    /// Learnt from `user.id` at registration; a discoverable assertion must return it.
    pub user_handle: Option<Vec<u8>>,
}

impl SoftAuthenticator {
    /// A fresh key and credential id, with every knob honest.
    pub fn new(origin: &str, rp_id: &str) -> Self {
        let mut rng = rand::thread_rng();
        let len = rng.gen_range(16..=32);
        let credential_id = (0..len).map(|_| rng.gen()).collect();
        Self {
            key: SigningKey::random(&mut rand::rngs::OsRng),
            credential_id,
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
            counter: 0,
            counter_step: 1,
            user_verified: true,
            user_handle: None,
        }
    }

    /// Builder form of `origin`, for one-line falsified authenticators.
    pub fn with_origin(mut self, origin: &str) -> Self {
        self.origin = origin.to_owned();
        self
    }

    /// Builder form of `rp_id`.
    pub fn with_rp_id(mut self, rp_id: &str) -> Self {
        self.rp_id = rp_id.to_owned();
        self
    }

    /// Builder form of `user_verified`.
    pub fn with_user_verified(mut self, user_verified: bool) -> Self {
        self.user_verified = user_verified;
        self
    }

    /// The credential id as the server stores and the browser reports it (base64url).
    pub fn credential_id_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    /// Whether a real browser would offer this credential for `options`: an empty
    /// `allowCredentials` means "any discoverable credential". `assert` ignores it so a test can
    /// still present a credential the server did not ask for.
    pub fn is_allowed(&self, options: &Value) -> bool {
        let allowed = options["publicKey"]["allowCredentials"].as_array();
        let ours = self.credential_id_b64();
        allowed.is_none_or(|list| list.is_empty() || list.iter().any(|c| c["id"] == ours.as_str()))
    }

    /// Answers `navigator.credentials.create()` with attestation format "none", as most
    /// passkey providers do.
    pub fn register(&mut self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        let challenge = public_key["challenge"]
            .as_str()
            .expect("creation options carry a base64url challenge");
        let user_id = public_key["user"]["id"]
            .as_str()
            .expect("creation options carry a base64url user.id");
        self.user_handle = Some(
            URL_SAFE_NO_PAD
                .decode(user_id)
                .expect("user.id is base64url without padding"),
        );

        let client_data = self.client_data("webauthn.create", challenge);
        let mut auth_data = self.auth_data_head(FLAG_AT);
        auth_data.extend_from_slice(&[0; 16]); // AAGUID: "none" attestation says nothing of the model
        let id_len = u16::try_from(self.credential_id.len()).expect("credential id fits in u16");
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_public_key());

        let attestation_object = to_cbor(&Cbor::Map(vec![
            (text("fmt"), text("none")),
            (text("attStmt"), Cbor::Map(Vec::new())),
            (text("authData"), Cbor::Bytes(auth_data)),
        ]));
        json!({
            "id": self.credential_id_b64(),
            "rawId": self.credential_id_b64(),
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation_object),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get()`. The counter moves before signing, like a real
    /// authenticator, so re-posting the returned JSON is a true replay of the same counter.
    pub fn assert(&mut self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .expect("request options carry a base64url challenge");
        self.counter = self.counter.wrapping_add(self.counter_step);

        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data_head(0);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);

        json!({
            "id": self.credential_id_b64(),
            "rawId": self.credential_id_b64(),
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.to_der()),
                "userHandle": self.user_handle.as_ref().map(|h| URL_SAFE_NO_PAD.encode(h)),
            },
            "extensions": {},
        })
    }

    /// The bytes the browser would produce; the challenge is echoed verbatim because the
    /// server compares it after decoding, not as text.
    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        let data = json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        });
        serde_json::to_vec(&data).expect("client data serialises")
    }

    /// rpIdHash, flags and counter: the part common to both ceremonies.
    fn auth_data_head(&self, extra_flags: u8) -> Vec<u8> {
        let uv = if self.user_verified { FLAG_UV } else { 0 };
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(FLAG_UP | uv | extra_flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// COSE_Key for EC2 / P-256 / ES256, the one algorithm every relying party accepts.
    fn cose_public_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let x = point.x().expect("uncompressed point has x").to_vec();
        let y = point.y().expect("uncompressed point has y").to_vec();
        to_cbor(&Cbor::Map(vec![
            (int(1), int(2)),  // kty: EC2
            (int(3), int(-7)), // alg: ES256
            (int(-1), int(1)), // crv: P-256
            (int(-2), Cbor::Bytes(x)),
            (int(-3), Cbor::Bytes(y)),
        ]))
    }
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.to_owned())
}

fn int(i: i64) -> Cbor {
    Cbor::Integer(i.into())
}

fn to_cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR into a Vec cannot fail");
    out
}
