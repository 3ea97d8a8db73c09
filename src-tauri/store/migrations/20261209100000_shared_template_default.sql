-- Issue 17 point 7: a shared mailbox's template (the organisation's stored default font and
-- size for mail written from it) and each owner's default shared mailbox.
ALTER TABLE shared_mailboxes ADD COLUMN template_font TEXT;
ALTER TABLE shared_mailboxes ADD COLUMN template_size_pt INTEGER;

-- A user's default shared mailbox: one it owns, itself or through a workflow group. The
-- engine deletes the row in the transaction that takes the ownership away.
CREATE TABLE shared_default_mailboxes (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    mailbox_id  INTEGER NOT NULL REFERENCES shared_mailboxes(id) ON DELETE CASCADE
);
CREATE INDEX shared_default_mailboxes_mailbox ON shared_default_mailboxes(mailbox_id);
