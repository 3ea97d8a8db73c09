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
pub(crate) mod autoreply;
pub(crate) mod batches;
pub(crate) mod blob_location;
pub(crate) mod bulk;
pub(crate) mod departments;
pub(crate) mod dkim;
pub(crate) mod domains;
pub(crate) mod folders;
pub(crate) mod forwards;
pub(crate) mod login;
pub(crate) mod mailbox;
pub(crate) mod monitor;
pub(crate) mod phone;
pub(crate) mod policy;
pub(crate) mod portal;
pub(crate) mod queue;
pub(crate) mod recycle;
pub(crate) mod relay;
pub(crate) mod rules;
pub(crate) mod search;
pub(crate) mod settings;
pub(crate) mod shared;
pub(crate) mod signin;
pub(crate) mod smtp;
pub(crate) mod store;
pub(crate) mod trace;
pub(crate) mod workflow;

/// The connection pool, and the process's one writer turn: write transactions queue here
/// in arrival order (a fair FIFO) before `BEGIN IMMEDIATE`, so busy writers of this process
/// never race in SQLite's busy handler, where one can be starved past the busy timeout.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    inner: SqlitePool,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl std::ops::Deref for Pool {
    type Target = SqlitePool;

    fn deref(&self) -> &SqlitePool {
        &self.inner
    }
}

/// How long a write waits for its turn before the operation fails as busy.
const WRITER_WAIT: Duration = Duration::from_secs(60);

/// A write transaction holding the writer turn until it commits, rolls back or drops
/// (dereferences to a [`Conn`] through the transaction).
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Commits, then gives the turn to the next writer.
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back, then gives the turn to the next writer.
    pub(crate) async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::Transaction<'static, sqlx::Sqlite>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}
/// One connection (what a read or a write's statements run on).
pub(crate) type Conn = sqlx::SqliteConnection;
/// A write transaction (dereferences to a [`Conn`]).
pub(crate) type Tx = WriteTx;
/// A pooled connection for reads (dereferences to a [`Conn`]).
pub(crate) type Read = sqlx::pool::PoolConnection<sqlx::Sqlite>;

/// The engine's migrations (`migrations/`, embedded in the binary).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database file, migrated.
pub(crate) async fn open_file(path: &Path) -> Result<Pool> {
    connect(SqliteConnectOptions::new().filename(path).create_if_missing(true), 8, BUSY_TIMEOUT).await
}

/// How long SQLite waits for a lock another process holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A private in-memory database, migrated.
pub(crate) async fn open_memory() -> Result<Pool> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| Error::internal(e.to_string()))?;
    // One connection: every connection to :memory: would be a separate database.
    connect(options, 1, BUSY_TIMEOUT).await
}

/// WAL, `synchronous = FULL` (a committed change survives power loss), a busy timeout so
/// concurrent writers wait instead of failing, foreign keys on.
async fn connect(options: SqliteConnectOptions, max_connections: u32, busy: Duration) -> Result<Pool> {
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(busy)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .map_err(|e| Error::unavailable(format!("cannot open the database: {e}")))?;
    MIGRATOR.run(&pool).await?;
    Ok(Pool { inner: pool, writer: Default::default() })
}

/// Starts a write transaction, taking the write lock up front (`BEGIN IMMEDIATE`) so two
/// writers never deadlock on a read-to-write upgrade.
pub(crate) async fn begin_write(pool: &Pool) -> Result<Tx> {
    let turn = tokio::time::timeout(WRITER_WAIT, pool.writer.clone().lock_owned())
        .await
        .map_err(|_| Error::unavailable("the database is busy; try again"))?;
    Ok(WriteTx { tx: pool.inner.begin_with("BEGIN IMMEDIATE").await?, _turn: turn })
}

/// A connection for reads.
pub(crate) async fn read(pool: &Pool) -> Result<Read> {
    Ok(pool.inner.acquire().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writers_queue_for_their_turn_and_none_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // No busy timeout at all: a writer that met SQLite's lock held would fail at once,
        // so every one succeeding shows they waited for their turn instead.
        let options = SqliteConnectOptions::new().filename(dir.path().join("t.db")).create_if_missing(true);
        let pool = connect(options, 8, Duration::ZERO).await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&*pool).await.unwrap();
        // The first writer holds its turn; the others queue behind it instead of racing in
        // SQLite's busy handler.
        let first = begin_write(&pool).await.unwrap();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in 0..40 {
            let (writer_pool, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let pool = writer_pool;
                let mut tx = begin_write(&pool).await.unwrap();
                sqlx::query("INSERT INTO t (n) VALUES (?)").bind(n).execute(&mut **tx).await.unwrap();
                order.lock().unwrap().push(n);
                tx.commit().await.unwrap();
            }));
        }
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(order.lock().unwrap().is_empty(), "nobody writes while a turn is held");
        first.commit().await.unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&*pool).await.unwrap();
        assert_eq!(count, 40, "every writer got its turn");
    }
}
