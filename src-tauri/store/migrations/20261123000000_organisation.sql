-- Organisation model: domains, groups, departments, accounts, addresses, aliases,
-- mail groups, admins, tokens, audit log. Canonical forms (lower-case ASCII) are
-- stored, so every uniqueness constraint is case-insensitive by construction.

CREATE TABLE domain_groups (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    max_accounts  INTEGER NOT NULL CHECK (max_accounts >= 0)
);

CREATE TABLE domains (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    group_id            INTEGER REFERENCES domain_groups(id),
    max_accounts        INTEGER NOT NULL CHECK (max_accounts >= 0),
    mailbox_size_mb     INTEGER NOT NULL CHECK (mailbox_size_mb > 0),
    attachment_size_mb  INTEGER NOT NULL CHECK (attachment_size_mb > 0),
    large_attachments   INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    -- accounts not deleted; kept by the triggers below so plan caps are O(1) to check
    account_count       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE departments (
    id         INTEGER PRIMARY KEY,
    domain_id  INTEGER NOT NULL REFERENCES domains(id),
    parent_id  INTEGER REFERENCES departments(id),
    name       TEXT NOT NULL,
    -- lower-cased name: siblings may not differ only in case
    name_key   TEXT NOT NULL
);
-- NULL parents are distinct in UNIQUE, so top-level names get their own index.
CREATE UNIQUE INDEX departments_sibling_names ON departments(domain_id, parent_id, name_key) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX departments_top_names ON departments(domain_id, name_key) WHERE parent_id IS NULL;
CREATE INDEX departments_parent ON departments(parent_id);

-- Every address of ours, whatever it is: one namespace, so an address is an account,
-- an account alias, an alias or a group, never two of them.
CREATE TABLE addresses (
    address    TEXT PRIMARY KEY,
    domain_id  INTEGER NOT NULL REFERENCES domains(id),
    kind       TEXT NOT NULL CHECK (kind IN ('account', 'account_alias', 'alias', 'group'))
) WITHOUT ROWID;
CREATE INDEX addresses_domain ON addresses(domain_id, kind);

CREATE TABLE accounts (
    id                     INTEGER PRIMARY KEY,
    domain_id              INTEGER NOT NULL REFERENCES domains(id),
    address                TEXT NOT NULL UNIQUE REFERENCES addresses(address),
    display_name           TEXT NOT NULL,
    department_id          INTEGER REFERENCES departments(id),
    notes                  TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL CHECK (status IN ('active', 'locked', 'disabled', 'deleted')),
    -- Argon2id PHC string; NULL until a password is set. Never selected by list queries.
    password_hash          TEXT,
    force_password_change  INTEGER NOT NULL DEFAULT 0,
    failed_logins          INTEGER NOT NULL DEFAULT 0,
    quota_mb               INTEGER NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    deleted_at             TEXT
);
CREATE INDEX accounts_domain_address ON accounts(domain_id, address);

CREATE TRIGGER accounts_count_insert AFTER INSERT ON accounts WHEN NEW.status <> 'deleted'
BEGIN UPDATE domains SET account_count = account_count + 1 WHERE id = NEW.domain_id; END;
CREATE TRIGGER accounts_count_delete AFTER DELETE ON accounts WHEN OLD.status <> 'deleted'
BEGIN UPDATE domains SET account_count = account_count - 1 WHERE id = OLD.domain_id; END;
CREATE TRIGGER accounts_count_status AFTER UPDATE OF status ON accounts
    WHEN (OLD.status = 'deleted') <> (NEW.status = 'deleted')
BEGIN UPDATE domains SET account_count = account_count + (CASE WHEN NEW.status = 'deleted' THEN -1 ELSE 1 END)
    WHERE id = NEW.domain_id; END;
CREATE INDEX accounts_department ON accounts(department_id);

CREATE TABLE account_aliases (
    address     TEXT PRIMARY KEY REFERENCES addresses(address),
    account_id  INTEGER NOT NULL REFERENCES accounts(id)
) WITHOUT ROWID;
CREATE INDEX account_aliases_account ON account_aliases(account_id);

CREATE TABLE aliases (
    id           INTEGER PRIMARY KEY,
    domain_id    INTEGER NOT NULL REFERENCES domains(id),
    address      TEXT NOT NULL UNIQUE REFERENCES addresses(address),
    description  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE alias_targets (
    alias_id  INTEGER NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    target    TEXT NOT NULL,
    PRIMARY KEY (alias_id, target)
) WITHOUT ROWID;
CREATE INDEX alias_targets_target ON alias_targets(target);

CREATE TABLE mail_groups (
    id               INTEGER PRIMARY KEY,
    domain_id        INTEGER NOT NULL REFERENCES domains(id),
    address          TEXT NOT NULL UNIQUE REFERENCES addresses(address),
    name             TEXT NOT NULL,
    send_permission  TEXT NOT NULL CHECK (send_permission IN ('same_domain', 'members_only', 'anyone', 'whitelist'))
);
CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES mail_groups(id) ON DELETE CASCADE,
    member    TEXT NOT NULL,
    PRIMARY KEY (group_id, member)
) WITHOUT ROWID;
CREATE INDEX group_members_member ON group_members(member);
CREATE TABLE group_allowed_senders (
    group_id  INTEGER NOT NULL REFERENCES mail_groups(id) ON DELETE CASCADE,
    sender    TEXT NOT NULL,
    PRIMARY KEY (group_id, sender)
) WITHOUT ROWID;

CREATE TABLE admins (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'helpdesk')),
    pages       TEXT NOT NULL,   -- JSON array of page names
    domains     TEXT,            -- JSON array of domain names; NULL = all domains
    created_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    admin         TEXT NOT NULL REFERENCES admins(name) ON DELETE CASCADE,
    -- SHA-256 of the whole bearer secret (high-entropy, so a fast hash is right here)
    secret_hash   TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    domain  TEXT,
    target  TEXT NOT NULL,
    before  TEXT,
    after   TEXT
);
CREATE INDEX audit_domain ON audit_log(domain, id);
CREATE INDEX audit_actor ON audit_log(actor, id);
