-- Microsoft 365 shared mailboxes fetched through Microsoft Graph (issue 17, item 2).
-- The app registration: the directory (tenant) id and the app's client id. The client
-- secret is NOT here: like the IMAP password it lives in the secret store (shared.<id>).
-- For these mailboxes `username` is the Microsoft 365 mailbox (user id or UPN) and
-- host/port/tls are unused.
ALTER TABLE shared_mailboxes ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE shared_mailboxes ADD COLUMN client_id TEXT NOT NULL DEFAULT '';

-- A Graph folder's id (immutable) and the link its delta continues from: a page's own
-- URL or its @odata.nextLink while a round is under way, then the round's
-- @odata.deltaLink; NULL: start from the beginning. NULL for IMAP folders.
ALTER TABLE shared_folders ADD COLUMN remote_id TEXT;
ALTER TABLE shared_folders ADD COLUMN delta_link TEXT;

-- The Graph messages (immutable ids) taken from a folder, or passed over as too large,
-- written in the transaction that stores them: an id seen is never downloaded again
-- (after a crash, a 410 restart or a resync); the content is still checked by its hash in
-- shared_fetched as for IMAP.
CREATE TABLE shared_graph_seen (
    mailbox_id   INTEGER NOT NULL REFERENCES shared_mailboxes(id) ON DELETE CASCADE,
    folder       TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, folder, message_id)
) WITHOUT ROWID;
