-- Where this data folder's message blobs are: 'local' (its own blobs folder) or an
-- S3-compatible store 's3://bucket/prefix'. No row: 'local' (every data folder made before).
-- Opening the data folder with another store is refused, so mail is never looked for (or
-- written) where the rest of it is not; `postdesk blobs migrate` moves it and changes this.
CREATE TABLE blob_location (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    location    TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
