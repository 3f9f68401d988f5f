-- Passkeys (WebAuthn). Rows name their account by `users.id`; removing the account or all its
-- factors removes them in the same transaction (the application does it).

-- A registered credential: `credential` is webauthn-rs's `Passkey` as JSON (the credential id,
-- the public key, the signature counter, flags): nothing in it signs anything, a copy of the
-- database alone cannot log in. `credential_id` is the credential id (base64url), unique: one
-- authenticator key belongs to one account.
CREATE TABLE passkeys (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    credential_id VARCHAR(1400) NOT NULL UNIQUE,
    name VARCHAR(64) NOT NULL,
    credential TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- A ceremony between its start and its finish: webauthn-rs's state for it, as JSON. `id` is the
-- SHA-256 (hex) of the challenge the browser signs, which the finish reads back from the
-- client data, so no cookie carries it. Used once: the finish deletes the row before it checks
-- the answer. `purpose` is `register`, `login` (passwordless; no account yet) or
-- `second_factor` (after a password step: `mfa_challenge` names that step's challenge).
CREATE TABLE webauthn_challenges (
    id VARCHAR(64) PRIMARY KEY NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    user_id VARCHAR(36),
    mfa_challenge VARCHAR(64),
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_challenges_expires_idx ON webauthn_challenges (expires_at);
CREATE INDEX webauthn_challenges_user_idx ON webauthn_challenges (user_id);
