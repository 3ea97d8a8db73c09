-- Failed logins per account and client address (engine/src/login.rs, SQL in
-- engine/src/sql/login.rs): a client reaching the domain's lockout threshold is kept out of
-- that account for a while, and nobody else is; the account itself is no longer locked by
-- failed logins (anyone could lock anyone's mailbox with a few wrong passwords).
-- `client` is the IPv4 address or the IPv6 /64; times are UNIX seconds.
CREATE TABLE login_failures (
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client        TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    locked_until  INTEGER,
    PRIMARY KEY (account_id, client)
) WITHOUT ROWID;
CREATE INDEX login_failures_last ON login_failures(last_at);
