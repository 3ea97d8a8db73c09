-- Mailbox management: per-domain mailbox settings, catch-all and pickup rules, the
-- recycle bin, and the foundation of mail storage (folders and messages whose bodies
-- live in a content-addressed blob store on disk, see engine/store.rs).

-- Per-domain mailbox settings (defaults: seed 004 recycle bin of 30 days, no catch-all).
-- The failed-login lockout threshold is the domain setting `lockout_threshold` in
-- setting_overrides (migration 20261123300000), shared with the batch-settings pages.
ALTER TABLE domains ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 3650);
-- Host name mail clients connect to; NULL means mail.<domain>.
ALTER TABLE domains ADD COLUMN mail_host TEXT;
ALTER TABLE domains ADD COLUMN catch_all_enabled INTEGER NOT NULL DEFAULT 0;
-- The mailbox that collects mail to unknown local parts (seed 001's "main mailbox").
ALTER TABLE domains ADD COLUMN catch_all_account_id INTEGER REFERENCES accounts(id);

-- Ordered pickup rules: a local-part pattern (`tiktok_{number}`, `sub_*`) and the
-- mailbox that receives what it matches. Consulted for addresses that are not ours yet,
-- before catch-all collection.
CREATE TABLE pickup_rules (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES domains(id),
    position    INTEGER NOT NULL,
    pattern     TEXT NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    UNIQUE (domain_id, position)
);
CREATE INDEX pickup_rules_account ON pickup_rules(account_id);

-- One row per deletion of an account. The account row stays (status 'deleted', address
-- reserved) until the entry's retention runs out and it is purged with its mail. A
-- restored entry stays listed (it cannot be restored twice) until it ages out too.
CREATE TABLE recycle_bin (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    status_before   TEXT NOT NULL CHECK (status_before IN ('active', 'locked', 'disabled')),
    deleted_at      TEXT NOT NULL,
    deleted_by      TEXT NOT NULL,
    restored_at     TEXT,
    restored_by     TEXT,
    transferred_to  TEXT,
    transferred_at  TEXT
);
CREATE INDEX recycle_bin_account ON recycle_bin(account_id, id);

-- Accounts already deleted before this migration get an entry, so they can be restored.
INSERT INTO recycle_bin (account_id, status_before, deleted_at, deleted_by)
    SELECT id, 'active', coalesce(deleted_at, updated_at), 'unknown' FROM accounts WHERE status = 'deleted';

-- Mail folders of an account (IMAP mailboxes): UIDVALIDITY and the next UID per folder
-- (RFC 3501 §2.3.1.1). Created on first use.
CREATE TABLE folders (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uidnext      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (account_id, name)
);

-- Messages: metadata here, the RFC 5322 bytes in the blob store under blob_hash
-- (SHA-256). A blob no message refers to any more is removed from disk.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    folder_id    INTEGER NOT NULL REFERENCES folders(id),
    uid          INTEGER NOT NULL,
    blob_hash    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    received_at  TEXT NOT NULL,
    -- IMAP system flags and keywords, space-separated (`\Seen \Flagged`)
    flags        TEXT NOT NULL DEFAULT '',
    UNIQUE (folder_id, uid)
);
CREATE INDEX messages_account ON messages(account_id);
CREATE INDEX messages_blob ON messages(blob_hash);
