-- Owners of shared mailboxes (issue 17 point 6): users and whole workflow groups who may
-- see and send from a shared mailbox. A workflow group is a named group of a domain's
-- users; its members' rows go with their accounts (purged) and with the group.
CREATE TABLE workflow_groups (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (domain_id, name COLLATE NOCASE)
);

CREATE TABLE workflow_group_members (
    group_id    INTEGER NOT NULL REFERENCES workflow_groups(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, account_id)
) WITHOUT ROWID;
CREATE INDEX workflow_group_members_account ON workflow_group_members(account_id);

-- An owner is a user (account_id) or a whole workflow group (group_id), never both.
CREATE TABLE shared_mailbox_owners (
    mailbox_id  INTEGER NOT NULL REFERENCES shared_mailboxes(id) ON DELETE CASCADE,
    account_id  INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES workflow_groups(id) ON DELETE CASCADE,
    CHECK ((account_id IS NULL) <> (group_id IS NULL)),
    UNIQUE (mailbox_id, account_id),
    UNIQUE (mailbox_id, group_id)
);
CREATE INDEX shared_mailbox_owners_account ON shared_mailbox_owners(account_id);
CREATE INDEX shared_mailbox_owners_group ON shared_mailbox_owners(group_id);
