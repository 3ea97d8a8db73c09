-- The SMTP service's admin data (issue 7): server-wide settings and the black/white lists.

-- One row. `settings` is the JSON of `SmtpSettings` (NULL: the defaults, until an admin
-- changes them); `version` goes up with every committed change of settings or rules, so
-- the mail server can tell whether what it runs with is current.
CREATE TABLE smtp_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    settings TEXT,
    version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO smtp_settings (id, settings, version) VALUES (1, NULL, 0);

-- Black/white list rules, checked in `position` order (dense, 1..n); the first match decides.
-- Values are canonical (lower-case address, A-label domain, IP or network/prefix).
CREATE TABLE smtp_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL CHECK (kind IN ('sender_address', 'sender_domain', 'client_ip')),
    value TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('reject', 'discard', 'allow')),
    position INTEGER NOT NULL CHECK (position >= 1),
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX smtp_rules_position ON smtp_rules (position);
