-- The user portal's security questions (engine/src/portal.rs): three per account, in the
-- user's words, each answer kept only as an Argon2id hash of its normalised form (lower case,
-- runs of white space made one space, trimmed). accounts.security_questions_set says whether
-- an account has them; an admin's clear_security_questions batch deletes the rows.
CREATE TABLE security_questions (
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL CHECK (position BETWEEN 1 AND 3),
    question     TEXT NOT NULL,
    answer_hash  TEXT NOT NULL,
    set_at       TEXT NOT NULL,
    PRIMARY KEY (account_id, position)
) WITHOUT ROWID;

-- The installation's key for the stand-in questions an unknown address is asked in password
-- recovery (an HMAC of the address picks them, so they stay the same without being
-- guessable from elsewhere). Made here, once, from SQLite's CSPRNG.
CREATE TABLE portal_recovery_key (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    secret  TEXT NOT NULL
);
INSERT INTO portal_recovery_key (id, secret) VALUES (1, lower(hex(randomblob(32))));
