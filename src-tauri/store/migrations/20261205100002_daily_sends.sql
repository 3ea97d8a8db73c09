-- What each account sent to other domains per day (the day in its domain's time zone),
-- for the daily send quota and the outbound usage view. Days older than 30 are pruned.
CREATE TABLE daily_sends (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    messages INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);
