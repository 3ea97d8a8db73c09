-- API tokens may end: `expires_at` (RFC 3339 UTC, NULL = never); engine/src/admins.rs
-- refuses a token past it like an unknown one.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
