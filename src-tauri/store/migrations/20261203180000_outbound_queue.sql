-- The durable outbound queue (engine/src/queue.rs, its SQL in engine/src/sql/queue.rs).
-- A message is queued in the same transaction as its local copies and its delivery key
-- (Engine::deliver_batch), so a message answered 250 and handed over by the spool is never
-- lost. Its bytes are a blob of the content-addressed store (blob_used counts these rows).
-- Times here are UNIX seconds, so "due" and "lease expired" are integer comparisons.
CREATE TABLE outbound_messages (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,        -- the hand-over key (smtp:<queue id>, dsn:…)
    blob_hash    TEXT NOT NULL,
    sender       TEXT NOT NULL,               -- '' = the null sender (a DSN)
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    lease_owner  TEXT,                        -- the worker sending it now
    lease_until  INTEGER                      -- its lease runs out then; others may take it after
);
CREATE INDEX outbound_messages_blob ON outbound_messages(blob_hash);

CREATE TABLE outbound_recipients (
    id               INTEGER PRIMARY KEY,
    message_id       INTEGER NOT NULL REFERENCES outbound_messages(id) ON DELETE CASCADE,
    address          TEXT NOT NULL,
    domain           TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'deferred', 'delivered', 'bounced')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_reply       TEXT,
    delay_notified   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (message_id, address)
);
-- The workers' question: what is due now.
CREATE INDEX outbound_recipients_due ON outbound_recipients(next_attempt_at)
    WHERE status IN ('queued', 'deferred');

-- The transport table (Postfix's transport_maps): mail for a domain goes to a fixed
-- host:port instead of its MX hosts; '*' matches every domain without its own row.
CREATE TABLE outbound_transports (
    domain  TEXT PRIMARY KEY,
    host    TEXT NOT NULL,
    port    INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535)
) WITHOUT ROWID;
