-- A queued message without a local copy, up to 256 KiB (most mail), keeps its bytes in its
-- own row instead of a blob file: the queue transaction's commit makes it durable (no file
-- created, fsynced and later removed per message — the cost that bounded the outbound rate).
-- NULL: the bytes are the blob named blob_hash (larger messages, or the same bytes as a
-- local copy), as before. blob_hash is set either way.
ALTER TABLE outbound_messages ADD COLUMN body BLOB;
