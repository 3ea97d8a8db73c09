-- Monitoring and copy rules (seed 004): per domain; a scope of its people (everyone, a
-- department path, one account), conditions and exceptions (NULL = none), and an action:
-- a copy into a monitor mailbox of ours, or the watched recipients' copies filed into a folder.
CREATE TABLE monitor_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    scope_department TEXT,
    scope_account TEXT,
    traffic TEXT NOT NULL CHECK (traffic IN ('any', 'internal', 'external')),
    sender TEXT,
    recipient TEXT,
    min_size_kb INTEGER CHECK (min_size_kb IS NULL OR min_size_kb > 0),
    keyword TEXT,
    except_sender TEXT,
    except_recipient TEXT,
    except_keyword TEXT,
    action TEXT NOT NULL CHECK (action IN ('copy', 'folder')),
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (scope_department IS NULL OR scope_account IS NULL)
);
CREATE INDEX monitor_rules_domain ON monitor_rules (domain_id, id);
