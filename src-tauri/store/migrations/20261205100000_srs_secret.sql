-- The key of the Sender Rewriting Scheme: forwarded mail to other domains leaves with an
-- envelope sender SRS0=<hmac>=<day>=<domain>=<local>@<forwarding domain>, and a bounce
-- coming back to that address is sent on to the original sender only when the HMAC under
-- this key verifies. One row, made on first use; never returned by any operation.
CREATE TABLE srs_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
