-- DKIM signing keys of the local server. The private key never leaves the server: no
-- query feeding an API type selects it. One active key per domain; older ones stay
-- (retired) until removed, so mail signed before a rotation still verifies.
CREATE TABLE dkim_keys (
    id               INTEGER PRIMARY KEY,
    domain_id        INTEGER NOT NULL REFERENCES domains(id),
    selector         TEXT NOT NULL,
    algorithm        TEXT NOT NULL CHECK (algorithm IN ('rsa2048', 'ed25519')),
    private_key_pem  TEXT NOT NULL,
    record_value     TEXT NOT NULL,
    active           INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (domain_id, selector)
);
CREATE UNIQUE INDEX dkim_keys_one_active ON dkim_keys(domain_id) WHERE active = 1;
