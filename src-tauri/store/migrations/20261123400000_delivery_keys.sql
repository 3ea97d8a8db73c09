-- Idempotent delivery (engine/store.rs, Engine::deliver_batch): a mail service names each
-- delivery with a key (the SMTP spool's queue id); the key is written in the same
-- transaction as the message rows, so delivering the same spooled message again after a
-- crash stores nothing twice. Keys are pruned once nothing can deliver them again.
CREATE TABLE delivery_keys (
    key           TEXT PRIMARY KEY,
    delivered_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX delivery_keys_age ON delivery_keys(delivered_at);
