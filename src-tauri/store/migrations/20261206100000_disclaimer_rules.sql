-- Disclaimers (seed 003): per domain, tried in position order (1 first), the first that
-- fires is appended to the mail the domain's users send. Conditions (NULL = any): scope
-- (any/internal/external), sender and recipient (an address or a domain), department (a
-- path, sub-departments included); exceptions of the same kinds.
CREATE TABLE disclaimer_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('any', 'internal', 'external')),
    sender TEXT,
    recipient TEXT,
    department TEXT,
    except_sender TEXT,
    except_recipient TEXT,
    except_department TEXT,
    text TEXT NOT NULL,
    html TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX disclaimer_rules_domain ON disclaimer_rules (domain_id, position);
