-- The user self-service portal (engine/src/portal.rs): mailbox users' web sessions, a kind of
-- their own (apart from admin_sessions and api_tokens), and the failed portal sign-ins the
-- rate limits count. Times are Unix seconds; only the SHA-256 of a session secret is kept.
CREATE TABLE portal_sessions (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    client        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX portal_sessions_account ON portal_sessions (account_id);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);

-- Failed portal sign-ins (and wrong current passwords) within the window, per address given
-- and per client address.
CREATE TABLE portal_sign_in_failures (
    id       INTEGER PRIMARY KEY,
    address  TEXT NOT NULL,
    client   TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX portal_sign_in_failures_address ON portal_sign_in_failures (address, at);
CREATE INDEX portal_sign_in_failures_client ON portal_sign_in_failures (client, at);
CREATE INDEX portal_sign_in_failures_at ON portal_sign_in_failures (at);
