//! All of the engine's SQL, one module per area; the rest of the engine (access →
//! validation → hashing → transaction → these writes → audit) holds no `sqlx` call.
//!
//! This is step 1 of the storage seam (docs/ARCHITECTURE.md, "Storage"): the functions
//! here take a connection or the caller's transaction ([`Conn`], [`Tx`]) and return plain
//! Rust values or the contract's types. The engine owns the transaction: it opens one
//! with [`begin_write`], passes it to as many of these as an operation needs (its audit
//! entry included) and commits once.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::{Error, Result};

pub(crate) mod accounts;
pub(crate) mod addresses;
pub(crate) mod admins;
pub(crate) mod audit;
pub(crate) mod batches;
pub(crate) mod departments;
pub(crate) mod dkim;
pub(crate) mod domains;
pub(crate) mod folders;
pub(crate) mod login;
pub(crate) mod mailbox;
pub(crate) mod policy;
pub(crate) mod recycle;
pub(crate) mod settings;
pub(crate) mod smtp;
pub(crate) mod store;

/// The connection pool.
pub(crate) type Pool = SqlitePool;
/// One connection (what a read or a write's statements run on).
pub(crate) type Conn = sqlx::SqliteConnection;
/// A write transaction (dereferences to a [`Conn`]).
pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;
/// A pooled connection for reads (dereferences to a [`Conn`]).
pub(crate) type Read = sqlx::pool::PoolConnection<sqlx::Sqlite>;

/// The engine's migrations (`migrations/`, embedded in the binary).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database file, migrated.
pub(crate) async fn open_file(path: &Path) -> Result<Pool> {
    connect(SqliteConnectOptions::new().filename(path).create_if_missing(true), 8).await
}

/// A private in-memory database, migrated.
pub(crate) async fn open_memory() -> Result<Pool> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| Error::internal(e.to_string()))?;
    // One connection: every connection to :memory: would be a separate database.
    connect(options, 1).await
}

/// WAL, `synchronous = FULL` (a committed change survives power loss), a busy timeout so
/// concurrent writers wait instead of failing, foreign keys on.
async fn connect(options: SqliteConnectOptions, max_connections: u32) -> Result<Pool> {
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .map_err(|e| Error::unavailable(format!("cannot open the database: {e}")))?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Starts a write transaction, taking the write lock up front (`BEGIN IMMEDIATE`) so two
/// writers never deadlock on a read-to-write upgrade.
pub(crate) async fn begin_write(pool: &Pool) -> Result<Tx> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A connection for reads.
pub(crate) async fn read(pool: &Pool) -> Result<Read> {
    Ok(pool.acquire().await?)
}
