-- Relay and shared-mailbox passwords shared by the nodes of one database (`postdesk
-- --secrets-key FILE`): each sealed by the engine with ChaCha20-Poly1305 under a key every
-- node is given and the database never holds, its name as associated data
-- (engine/src/sealed.rs). PostgreSQL only: one node on SQLite keeps them in its data folder.
CREATE TABLE sealed_secrets (
    name    TEXT COLLATE "C" PRIMARY KEY,
    sealed  TEXT COLLATE "C" NOT NULL
);
