-- An admin's "bounce now" (bounce_outbound): the worker gives the recipient up at its next
-- pass without another attempt, and the sender gets a DSN as for any bounce.
ALTER TABLE outbound_recipients ADD COLUMN bounce_now INTEGER NOT NULL DEFAULT 0;
