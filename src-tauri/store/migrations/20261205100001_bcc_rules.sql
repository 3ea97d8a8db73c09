-- Automatic blind copies (seed 003 "Auto BCC"): per domain, conditions on sender and
-- recipient (an address or a domain, NULL = any), a direction, and the copy's address.
CREATE TABLE bcc_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'both')),
    sender TEXT,
    recipient TEXT,
    copy_to TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX bcc_rules_domain ON bcc_rules (domain_id, id);
