-- MTA-STS policies kept for recipient domains (RFC 8461 §5.1), so that a restart does not
-- forget them: a policy applies until `until` (its fetch time + max_age), even when the
-- domain's record disappears or the policy host is unreachable meanwhile. Written by the
-- outbound worker (mailserver/src/outbound/mta_sts.rs) through OutboundQueue; bounded (the
-- expired are removed on every write, and at most 10,000 domains are kept).
CREATE TABLE mta_sts_policies (
    domain   TEXT PRIMARY KEY,
    id       TEXT NOT NULL,                -- the policy id of the _mta-sts TXT record
    mode     TEXT NOT NULL CHECK (mode IN ('enforce', 'testing', 'none')),
    mx       TEXT NOT NULL,                -- the MX patterns, one per line
    max_age  INTEGER NOT NULL,
    until    INTEGER NOT NULL              -- UNIX seconds: no longer used from then on
) WITHOUT ROWID;
CREATE INDEX mta_sts_policies_until ON mta_sts_policies(until);
