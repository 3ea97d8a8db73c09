-- The message trace (engine/src/trace.rs, its SQL in engine/src/sql/trace.rs): one row per
-- message the server handled, its addresses for search, and its steps. Written in the
-- transactions that already exist: a delivered message's row and steps in deliver_batch's
-- (with its local copies and its queue rows), outbound results in report_outbound's, SMTP
-- refusals in batches. Times are UNIX seconds. Old rows go after `retention_days`
-- (trace_settings), in bounded batches.
CREATE TABLE trace_messages (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,          -- smtp:<queue id> (the delivery key), refused:<id>
    at          INTEGER NOT NULL,              -- accepted or refused then
    client      TEXT NOT NULL DEFAULT '',
    account     TEXT,                          -- the signed-in sender
    sender      TEXT NOT NULL DEFAULT '',      -- '' = the null sender
    recipients  TEXT NOT NULL DEFAULT '',      -- one per line
    size        INTEGER,
    message_id  TEXT,                          -- the Message-ID header, without <>
    outcome     TEXT NOT NULL,                 -- the latest step
    stages      INTEGER NOT NULL DEFAULT 0     -- bit set of every step seen (TraceStage::bit)
);
CREATE INDEX trace_messages_at ON trace_messages(at, id);
CREATE INDEX trace_messages_message_id ON trace_messages(message_id) WHERE message_id IS NOT NULL;

-- Each address of a message (sender and recipients), for search by address or domain
-- within a time range: (address, at) and (domain, at) ranges, newest first.
CREATE TABLE trace_addresses (
    message  INTEGER NOT NULL REFERENCES trace_messages(id) ON DELETE CASCADE,
    address  TEXT NOT NULL,
    domain   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (message, address)
) WITHOUT ROWID;
CREATE INDEX trace_addresses_address ON trace_addresses(address, at, message);
CREATE INDEX trace_addresses_domain ON trace_addresses(domain, at, message);

CREATE TABLE trace_steps (
    id         INTEGER PRIMARY KEY,
    message    INTEGER NOT NULL REFERENCES trace_messages(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    stage      TEXT NOT NULL CHECK (stage IN ('accepted', 'refused', 'inbox', 'junk', 'not_delivered',
                                              'queued', 'delivered', 'deferred', 'bounced')),
    recipient  TEXT,
    rule       TEXT,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX trace_steps_message ON trace_steps(message, id);

-- Server-wide trace settings: one row.
CREATE TABLE trace_settings (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    retention_days  INTEGER NOT NULL CHECK (retention_days BETWEEN 1 AND 3650)
);
INSERT INTO trace_settings (id, retention_days) VALUES (1, 30);
