-- The message trace records messages and recipients answered 250 but dropped by a discard
-- rule as the stage 'discarded' (TraceStage::Discarded). SQLite cannot change a CHECK in
-- place: the steps table is rebuilt with the wider one, rows and index kept.
CREATE TABLE trace_steps_new (
    id         INTEGER PRIMARY KEY,
    message    INTEGER NOT NULL REFERENCES trace_messages(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    stage      TEXT NOT NULL CHECK (stage IN ('accepted', 'refused', 'inbox', 'junk', 'not_delivered',
                                              'queued', 'delivered', 'deferred', 'bounced', 'discarded')),
    recipient  TEXT,
    rule       TEXT,
    detail     TEXT NOT NULL DEFAULT ''
);
INSERT INTO trace_steps_new (id, message, at, stage, recipient, rule, detail)
    SELECT id, message, at, stage, recipient, rule, detail FROM trace_steps;
DROP TABLE trace_steps;
ALTER TABLE trace_steps_new RENAME TO trace_steps;
CREATE INDEX trace_steps_message ON trace_steps(message, id);
