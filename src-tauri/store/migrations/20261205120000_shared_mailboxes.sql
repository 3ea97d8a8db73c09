-- Shared mailboxes (issue 17, seed 002): a mailbox of one of our domains whose mail is
-- fetched from an external server into the store. The mailbox in the store is the account
-- at the sender address (account_id). The password is NOT here: it lives in the secret
-- store (a 0600 file of the data folder for `serve`, the OS keyring for the desktop app).
CREATE TABLE shared_mailboxes (
    id                      INTEGER PRIMARY KEY,
    account_id              INTEGER NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    kind                    TEXT NOT NULL CHECK (kind IN ('imap', 'microsoft365')),
    host                    TEXT NOT NULL DEFAULT '',
    port                    INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    tls                     TEXT NOT NULL CHECK (tls IN ('implicit', 'starttls')),
    verify_certificate      INTEGER NOT NULL DEFAULT 1,
    username                TEXT NOT NULL DEFAULT '',
    -- Minutes between automatic fetches; NULL = only "fetch now".
    fetch_interval_minutes  INTEGER CHECK (fetch_interval_minutes BETWEEN 1 AND 10080),
    disable_after           INTEGER NOT NULL DEFAULT 5 CHECK (disable_after BETWEEN 1 AND 1000),
    error_count             INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT,
    last_error_at           TEXT,
    -- Set when fetching stopped after disable_after failures (the admin's notice).
    disabled_at             TEXT,
    last_fetch_at           TEXT,
    last_success_at         TEXT,
    sent_folder             TEXT,
    junk_folder             TEXT,
    -- A pending resync: the next fetch takes what arrived since then and was not fetched.
    resync_from             TEXT,
    created_at              TEXT NOT NULL
);

-- The external server's folders as last listed, which are fetched, and where fetching
-- stands in each: the server's UIDVALIDITY and the highest UID taken (RFC 3501 §2.3.1.1).
CREATE TABLE shared_folders (
    mailbox_id   INTEGER NOT NULL REFERENCES shared_mailboxes(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- Our folder for it: the name with the server's hierarchy delimiter turned into '/'.
    local_name   TEXT NOT NULL,
    fetch        INTEGER NOT NULL DEFAULT 0,
    special_use  TEXT,
    uidvalidity  INTEGER,
    last_uid     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox_id, name)
) WITHOUT ROWID;

-- Every message fetched, written in the transaction that stores it: by content (so a
-- changed UIDVALIDITY or a resync never stores it twice) and by (UIDVALIDITY, UID) (so a
-- known UID is not downloaded again).
CREATE TABLE shared_fetched (
    mailbox_id   INTEGER NOT NULL REFERENCES shared_mailboxes(id) ON DELETE CASCADE,
    folder       TEXT NOT NULL,
    hash         TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, folder, hash)
) WITHOUT ROWID;
CREATE INDEX shared_fetched_uid ON shared_fetched(mailbox_id, folder, uidvalidity, uid);
