-- Batch settings (SPEC B): sparse setting overrides per level, batches with their
-- before-state for undo, and whether an account has security questions set.

-- One row per (level, key) a level overrides; a key no level sets takes the built-in
-- default. `scope_id` is the domain's, department's or account's id, by `scope`. Resolving
-- an account reads its domain's row set, its department ancestors' and its own: no
-- per-account fan-out when a department's setting changes.
CREATE TABLE setting_overrides (
    domain_id  INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL CHECK (scope IN ('domain', 'department', 'account')),
    scope_id   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,   -- JSON, canonical (serde_json of the normalised value)
    PRIMARY KEY (scope, scope_id, key)
) WITHOUT ROWID;
CREATE INDEX setting_overrides_domain ON setting_overrides(domain_id, scope, key);

-- Overrides go with the department or account they belong to.
CREATE TRIGGER setting_overrides_department_gone AFTER DELETE ON departments
BEGIN DELETE FROM setting_overrides WHERE scope = 'department' AND scope_id = OLD.id; END;
CREATE TRIGGER setting_overrides_account_gone AFTER DELETE ON accounts
BEGIN DELETE FROM setting_overrides WHERE scope = 'account' AND scope_id = OLD.id; END;

-- One row per batch action (settings, password reset, clearing security questions).
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    accounts    INTEGER NOT NULL,
    changes     INTEGER NOT NULL,
    summary     TEXT NOT NULL,
    -- NULL when the batch can be undone; else why not (password resets never can)
    not_undoable TEXT,
    undone_at   TEXT,
    undone_by   TEXT
);
CREATE INDEX batches_domain ON batches(domain_id, id);

-- The exact before- and after-state of every override a settings batch touched: undo
-- restores `before` only where the current value still equals `after`.
CREATE TABLE batch_changes (
    batch_id  INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    scope     TEXT NOT NULL,
    scope_id  INTEGER NOT NULL,
    key       TEXT NOT NULL,
    label     TEXT NOT NULL,    -- 'domain default', 'department Sales/East', 'account ann@…'
    before    TEXT,             -- JSON; NULL = not overridden
    after     TEXT,
    PRIMARY KEY (batch_id, scope, scope_id, key)
) WITHOUT ROWID;

-- Set by the user's self-service (webmail, a later issue); an admin can clear it.
ALTER TABLE accounts ADD COLUMN security_questions_set INTEGER NOT NULL DEFAULT 0;
