-- Auto-replies (issue 17 point 7), per account: a shared mailbox's today, any user's once
-- the self-service portal sets them. RFC 3834: at most one reply per sender per period.
CREATE TABLE auto_replies (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL,
    -- The period (RFC 3339); NULL = open on that side.
    starts_at   TEXT,
    ends_at     TEXT,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- Rises whenever a new period starts (turned on, or its dates changed): senders
    -- answered under another generation may be answered again.
    generation  INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);

-- Who was answered, per account (bounded: the oldest are forgotten past a limit).
CREATE TABLE auto_reply_sent (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sender      TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    replied_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, sender)
) WITHOUT ROWID;
CREATE INDEX auto_reply_sent_age ON auto_reply_sent(account_id, replied_at);
