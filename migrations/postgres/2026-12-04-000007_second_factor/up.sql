-- A second factor. Rows name their account by `users.id`; removing the account removes them in
-- the same transaction (the application does it: SQLite's foreign keys are off by default).

-- One TOTP secret per account, sealed (XChaCha20-Poly1305 under a key derived from
-- server_secret, bound to the account id): a copy of the database alone does not give codes
-- away. Pending until `confirmed_at` is set by a first right code. `last_step` is the 30 s step
-- of the last code accepted: a code is taken only for a later step, so none is used twice.
CREATE TABLE mfa_totp (
    user_id VARCHAR(36) PRIMARY KEY NOT NULL,
    secret_sealed VARCHAR(200) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT
);

-- Single-use recovery codes, kept only as keyed hashes (HMAC-SHA-256 under a key derived from
-- server_secret, over the account id and the code); a code is spent by setting `used_at`.
CREATE TABLE recovery_codes (
    user_id VARCHAR(36) NOT NULL,
    code_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

-- The second step of a login: the right password was given, a code is due. `id` is the SHA-256
-- of the `mfa` cookie's value (the value itself is never stored). Bound to the account and to
-- its generation at the password check, so a password change, lock or removal voids it.
CREATE TABLE mfa_challenges (
    id VARCHAR(64) PRIMARY KEY NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    generation BIGINT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
