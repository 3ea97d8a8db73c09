-- UIDVALIDITY is a clock in seconds (engine/store.rs), so a folder deleted (or renamed
-- away) and created again under its name within the same second would get the old value
-- back, and a client would trust its cached UIDs of a different folder (RFC 9051
-- §2.3.1.1). The largest UIDVALIDITY a folder of the account gave up is kept here, and a
-- new folder's UIDVALIDITY is made larger than it (engine/folders.rs).
ALTER TABLE accounts ADD COLUMN retired_uidvalidity INTEGER NOT NULL DEFAULT 0;
