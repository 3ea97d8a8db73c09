-- Phone binding in the user portal and the SMS gateway of its codes (engine/src/phone.rs).
-- Times are Unix seconds. Only a salted SHA-256 of a code is kept; the gateway's bearer
-- token is in the secret store (`sms.gateway`), never here.

-- The bound phone of an account (E.164), at most one.
CREATE TABLE account_phones (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    bound_at    INTEGER NOT NULL
);

-- The code waiting for confirmation, at most one per account (a new one replaces it).
CREATE TABLE phone_codes (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    salt        TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    wrong_tries INTEGER NOT NULL DEFAULT 0
);

-- The codes sent per account within the last hour (the send limit counts them).
CREATE TABLE phone_code_sends (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL
);
CREATE INDEX phone_code_sends_account ON phone_code_sends (account_id, at);

-- The server-wide SMS gateway: one row.
CREATE TABLE sms_gateway (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    mode  TEXT NOT NULL DEFAULT 'log' CHECK (mode IN ('log', 'http')),
    url   TEXT NOT NULL DEFAULT ''
);
INSERT INTO sms_gateway (id) VALUES (1);

-- The log sender's messages, for an admin to read (the last 1000 are kept).
CREATE TABLE sms_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    recipient  TEXT NOT NULL,
    text       TEXT NOT NULL,
    account    TEXT
);
