-- Smarthost relays (issue 14, item 4): outbound mail through a third-party server, for
-- every sender ('*') or one sender domain. The secret (password or bearer token) is NOT
-- here: it lives in the secret store (a 0600 file of the data folder for `serve`, the OS
-- keyring for the desktop app).
CREATE TABLE outbound_relays (
    scope              TEXT PRIMARY KEY,           -- '*' or a sender domain (canonical)
    host               TEXT NOT NULL,
    port               INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    tls                TEXT NOT NULL CHECK (tls IN ('implicit', 'starttls')),
    verify_certificate INTEGER NOT NULL DEFAULT 1,
    auth               TEXT NOT NULL CHECK (auth IN ('none', 'plain', 'login', 'xoauth2')),
    username           TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
