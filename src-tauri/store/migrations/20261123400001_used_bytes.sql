-- A running total of the bytes each account stores, kept by triggers on `messages`, so the
-- quota check of every delivery (and of every SMTP RCPT) reads one row instead of summing
-- the whole mailbox. Every way messages change (deliver, clean, transfer, purge) is covered
-- because the triggers are on the table itself.
ALTER TABLE accounts ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET used_bytes = (SELECT coalesce(sum(size), 0) FROM messages WHERE account_id = accounts.id);

CREATE TRIGGER messages_used_bytes_insert AFTER INSERT ON messages BEGIN
    UPDATE accounts SET used_bytes = used_bytes + NEW.size WHERE id = NEW.account_id;
END;
CREATE TRIGGER messages_used_bytes_delete AFTER DELETE ON messages BEGIN
    UPDATE accounts SET used_bytes = used_bytes - OLD.size WHERE id = OLD.account_id;
END;
CREATE TRIGGER messages_used_bytes_update AFTER UPDATE OF account_id, size ON messages BEGIN
    UPDATE accounts SET used_bytes = used_bytes - OLD.size WHERE id = OLD.account_id;
    UPDATE accounts SET used_bytes = used_bytes + NEW.size WHERE id = NEW.account_id;
END;
