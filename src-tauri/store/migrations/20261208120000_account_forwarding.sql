-- A user's own forwarding (issue 18, set in the self-service portal): mail delivered to the
-- mailbox goes on to these addresses too, where the account's auto_forward setting allows.
CREATE TABLE account_forwards (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    -- JSON array of canonical addresses (1 to 5).
    targets     TEXT NOT NULL,
    -- 1: the mailbox keeps its copy too.
    keep_copy   INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
