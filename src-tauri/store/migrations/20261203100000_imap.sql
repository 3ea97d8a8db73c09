-- What IMAP and POP3 need beyond folders and messages.
--
-- Mod-sequences (RFC 7162, CONDSTORE/QRESYNC): every folder counts its changes in
-- highest_modseq; a message takes the next value when it is added (delivered, appended,
-- copied, moved in) or its flags change, and an expunge moves the folder's counter too, so a
-- syncing client asks only for what changed since the value it saw. Kept by triggers, so
-- every writer (delivery, IMAP, the recycle bin) keeps them right.
ALTER TABLE folders ADD COLUMN highest_modseq INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN modseq INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER messages_modseq_insert AFTER INSERT ON messages BEGIN
    UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = NEW.folder_id;
    UPDATE messages SET modseq = (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id) WHERE id = NEW.id;
END;
CREATE TRIGGER messages_modseq_flags AFTER UPDATE OF flags ON messages WHEN OLD.flags IS NOT NEW.flags BEGIN
    UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = NEW.folder_id;
    UPDATE messages SET modseq = (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id) WHERE id = NEW.id;
END;
CREATE TRIGGER messages_modseq_moved AFTER UPDATE OF folder_id ON messages WHEN OLD.folder_id IS NOT NEW.folder_id BEGIN
    UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id IN (OLD.folder_id, NEW.folder_id);
    UPDATE messages SET modseq = (SELECT highest_modseq FROM folders WHERE id = NEW.folder_id) WHERE id = NEW.id;
END;
CREATE TRIGGER messages_modseq_delete AFTER DELETE ON messages BEGIN
    UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = OLD.folder_id;
END;

-- Folder subscriptions (IMAP SUBSCRIBE, LSUB, LIST (SUBSCRIBED)); a name need not exist.
CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

-- Every mailbox login, accepted or not, with its service, client and reason, so the
-- helpdesk can answer "why can't she log in". Bounded: the engine keeps the newest rows
-- only (engine/login.rs).
CREATE TABLE login_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    service  TEXT NOT NULL,
    login    TEXT NOT NULL,
    account  TEXT,
    domain   TEXT,
    client   TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    reason   TEXT NOT NULL
);
CREATE INDEX login_log_account ON login_log(account, id);
CREATE INDEX login_log_domain ON login_log(domain, id);
