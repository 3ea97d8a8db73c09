-- Admin sign-in for people (engine/src/signin.rs): a password (Argon2id PHC), a TOTP second
-- factor (RFC 6238; the secret must be readable to compute codes, so it is stored as is in
-- this 0600 database, like the DKIM keys) with one-time recovery codes (SHA-256 of 80-bit
-- random codes), server-side sessions apart from the API tokens, and the failures the rate
-- limits count.
ALTER TABLE admins ADD COLUMN password_hash TEXT;
ALTER TABLE admins ADD COLUMN totp_secret TEXT;          -- hex of 20 bytes; NULL = no second factor
ALTER TABLE admins ADD COLUMN totp_pending TEXT;         -- being set up, until a code confirms it
ALTER TABLE admins ADD COLUMN totp_last_step INTEGER;    -- the last time step used (no replay)

CREATE TABLE admin_recovery_codes (
    admin      TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    PRIMARY KEY (admin, code_hash)
) WITHOUT ROWID;

-- A session (stage 'active') or a sign-in waiting for its second factor (stage 'pending').
-- Times are Unix seconds. Only the SHA-256 of the secret (the cookie's value) is kept.
CREATE TABLE admin_sessions (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    admin         TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
    stage         TEXT NOT NULL CHECK (stage IN ('pending', 'active')),
    csrf          TEXT NOT NULL,
    client        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX admin_sessions_admin ON admin_sessions (admin);

-- Failed sign-ins within the rate-limit window, per name given and per client address.
CREATE TABLE admin_sign_in_failures (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    client  TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX admin_sign_in_failures_name ON admin_sign_in_failures (name, at);
CREATE INDEX admin_sign_in_failures_client ON admin_sign_in_failures (client, at);
CREATE INDEX admin_sign_in_failures_at ON admin_sign_in_failures (at);

-- The owner's sign-in policy: one row.
CREATE TABLE sign_in_policy (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    require_two_factor  INTEGER NOT NULL DEFAULT 0,
    idle_minutes        INTEGER NOT NULL DEFAULT 30,
    absolute_minutes    INTEGER NOT NULL DEFAULT 720
);
INSERT INTO sign_in_policy (id) VALUES (1);
