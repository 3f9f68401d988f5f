-- Accounts. The password is stored only as an argon2id PHC string.
CREATE TABLE users (
    username VARCHAR(64) PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    role VARCHAR(16) NOT NULL CHECK (role IN ('user', 'admin')),
    created_at TIMESTAMP NOT NULL
);
