//! Postdesk's store: all of the engine's SQL, one module per area, on SQLite or PostgreSQL.
//! The engine (access → validation → hashing → transaction → these writes → audit) holds
//! no `sqlx` call; it names this crate `sql`.
//!
//! The functions here take a connection or the caller's transaction ([`Conn`], [`Tx`]) and
//! return plain Rust values or the contract's types. The engine owns the transaction: it
//! opens one with [`begin_write`], passes it to as many of these as an operation needs (its
//! audit entry included) and commits once — on either database.
//!
//! One statement text serves both databases where their SQL agrees (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, `FILTER`, `IS DISTINCT FROM`); each function's body runs on
//! the typed connection of either ([`on_db!`]), so it is compiled, and type-checked, once
//! per database. Where the dialects differ the function says so with [`dialect`] (the
//! trigram search, a `COLLATE NOCASE` order), and the few SQLite functions the statements
//! use are defined on PostgreSQL by its migrations (`migrations-postgres/`). Each database
//! has its own migrations: `migrations/` (SQLite) and `migrations-postgres/`.
#![forbid(unsafe_code)]

pub(crate) use postdesk_contract::{Error, Result, api, error, model};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod accounts;
pub mod addresses;
pub mod admins;
pub mod audit;
pub mod autoreply;
pub mod batches;
pub mod blob_location;
pub mod bulk;
pub mod copy;
pub mod departments;
pub mod dkim;
pub mod domains;
pub mod folders;
pub mod forwards;
pub mod login;
pub mod mailbox;
pub mod monitor;
pub mod notify;
pub mod phone;
pub mod policy;
pub mod portal;
pub mod queue;
pub mod recycle;
pub mod relay;
pub mod rules;
pub mod search;
pub mod secrets;
pub mod settings;
pub mod shared;
pub mod signin;
pub mod smtp;
pub mod store;
pub mod trace;
pub mod workflow;

/// The connection pool of either database, and the process's one writer turn: write
/// transactions queue here in arrival order (a fair FIFO) before they begin, so busy writers
/// of this process never race in SQLite's busy handler, where one can be starved past the
/// busy timeout (on PostgreSQL the turn keeps the same order among this node's writers).
#[derive(Clone, Debug)]
pub struct Pool {
    inner: PoolKind,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

#[derive(Clone, Debug)]
enum PoolKind {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A borrowed pool, matched on by [`on_pool!`].
pub enum PoolRef<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

impl Pool {
    pub fn db(&self) -> PoolRef<'_> {
        match &self.inner {
            PoolKind::Sqlite(p) => PoolRef::Sqlite(p),
            PoolKind::Postgres(p) => PoolRef::Postgres(p),
        }
    }

    /// Whether this is a PostgreSQL database (several nodes may share it).
    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, PoolKind::Postgres(_))
    }

    /// Closes the pool (on SQLite, checkpointing the WAL).
    pub async fn close(&self) {
        match &self.inner {
            PoolKind::Sqlite(p) => p.close().await,
            PoolKind::Postgres(p) => p.close().await,
        }
    }
}

/// The two databases the engine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One connection of either database, borrowed: what a statement runs on. The SQL
/// functions match on it ([`on_db!`]): the same statement text for both where the dialects
/// agree (`$1` placeholders, `RETURNING`, `ON CONFLICT`), a statement per database where
/// they do not.
pub enum Db<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

/// Anything a statement can run on: a write transaction, a pooled connection, or a bare
/// connection of either database.
pub trait AsConn {
    fn db(&mut self) -> Db<'_>;
}

impl AsConn for sqlx::SqliteConnection {
    fn db(&mut self) -> Db<'_> {
        Db::Sqlite(self)
    }
}

impl AsConn for sqlx::PgConnection {
    fn db(&mut self) -> Db<'_> {
        Db::Postgres(self)
    }
}

/// Which database a typed connection is on, for the few statements written per database
/// (`super::dialect(&*conn)` inside [`on_db!`]).
pub trait SqlDialect {
    const DIALECT: Dialect;
}

impl SqlDialect for sqlx::SqliteConnection {
    const DIALECT: Dialect = Dialect::Sqlite;
}

impl SqlDialect for sqlx::PgConnection {
    const DIALECT: Dialect = Dialect::Postgres;
}

/// Whether a filtered listing's statement may be kept prepared on the connection `conn`:
/// on SQLite yes; on PostgreSQL no, so that each run is planned with its parameters' values
/// (a `LIKE` pattern decides whether the trigram index pays), where a kept statement
/// falls back to a generic plan after five runs and reads the whole domain.
pub fn keep_prepared<C: SqlDialect + ?Sized>(_conn: &C) -> bool {
    C::DIALECT == Dialect::Sqlite
}

/// `column` contains the `LIKE` pattern `$n` (escape `\`), ignoring ASCII case: SQLite's
/// `LIKE` ignores it already (and reads a column faster than through `lower`); PostgreSQL's
/// does not, and its trigram indexes are on `lower(column)`.
pub fn like_ignoring_case(dialect: Dialect, column: &str, n: u8) -> String {
    match dialect {
        Dialect::Sqlite => format!("{column} LIKE ${n} ESCAPE '\\'"),
        Dialect::Postgres => format!("lower({column}) LIKE lower(${n}) ESCAPE '\\'"),
    }
}

/// `column` contains the `LIKE` pattern `$n` ignoring ASCII case, for a column stored in
/// ASCII lower case (addresses): as `like_ignoring_case`, without folding the column on
/// PostgreSQL (a broad filter reads tens of thousands of rows; its trigram indexes are on the
/// column itself).
pub fn like_lowercase_column(dialect: Dialect, column: &str, n: u8) -> String {
    match dialect {
        Dialect::Sqlite => like_ignoring_case(dialect, column, n),
        Dialect::Postgres => format!("{column} LIKE lower(${n}) ESCAPE '\\'"),
    }
}

/// An inner join that keeps its left side first: SQLite's `CROSS JOIN … ON` (its planner
/// never reorders it: a few candidate ids, then their rows by key); PostgreSQL has no `ON`
/// after `CROSS JOIN`, and its planner picks the order from the row estimates.
pub fn join_in_order(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "CROSS JOIN",
        Dialect::Postgres => "JOIN",
    }
}

/// The database of the typed connection `_conn`.
pub fn dialect<C: SqlDialect + ?Sized>(_conn: &C) -> Dialect {
    C::DIALECT
}

/// Runs `$body` with `$c` bound to the typed connection of whichever database `$conn`
/// is on; the body is compiled once per database.
macro_rules! on_db {
    ($conn:expr, $c:ident => $body:expr) => {
        match $crate::AsConn::db($conn) {
            $crate::Db::Sqlite($c) => $body,
            $crate::Db::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_db;

/// Runs `$body` with `$p` bound to the typed pool of whichever database `$pool` is.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool.db() {
            $crate::PoolRef::Sqlite($p) => $body,
            $crate::PoolRef::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A value both databases decode (`i64`, `String`, `bool`, `Option` of them, …).
pub trait DbValue:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
{
}
impl<T> DbValue for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
{
}

/// A column name or index of a row of either database.
pub trait DbColumn: sqlx::ColumnIndex<sqlx::sqlite::SqliteRow> + sqlx::ColumnIndex<sqlx::postgres::PgRow> {}
impl<T> DbColumn for T where T: sqlx::ColumnIndex<sqlx::sqlite::SqliteRow> + sqlx::ColumnIndex<sqlx::postgres::PgRow> {}

/// A result row of either database, for the functions that turn a row into a value once
/// for both.
pub trait DbRow {
    /// The value of column `col` (panics, as `sqlx::Row::get` does, on a column the
    /// statement does not select: a programming error).
    fn get<T: DbValue, C: DbColumn>(&self, col: C) -> T;
}

impl DbRow for sqlx::sqlite::SqliteRow {
    fn get<T: DbValue, C: DbColumn>(&self, col: C) -> T {
        sqlx::Row::get(self, col)
    }
}

impl DbRow for sqlx::postgres::PgRow {
    fn get<T: DbValue, C: DbColumn>(&self, col: C) -> T {
        sqlx::Row::get(self, col)
    }
}

/// How long a write waits for its turn before the operation fails as busy.
const WRITER_WAIT: Duration = Duration::from_secs(60);

/// A write transaction holding the writer turn until it commits, rolls back or drops
/// (dereferences to a [`Conn`]).
pub struct WriteTx {
    tx: TxKind,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

enum TxKind {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl WriteTx {
    /// Commits, then gives the turn to the next writer.
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self.tx {
            TxKind::Sqlite(tx) => tx.commit().await,
            TxKind::Postgres(tx) => tx.commit().await,
        }
    }

    /// Rolls back, then gives the turn to the next writer.
    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        match self.tx {
            TxKind::Sqlite(tx) => tx.rollback().await,
            TxKind::Postgres(tx) => tx.rollback().await,
        }
    }
}

impl AsConn for WriteTx {
    fn db(&mut self) -> Db<'_> {
        match &mut self.tx {
            TxKind::Sqlite(tx) => Db::Sqlite(tx),
            TxKind::Postgres(tx) => Db::Postgres(tx),
        }
    }
}

/// A pooled connection of either database.
pub enum ReadConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl AsConn for ReadConn {
    fn db(&mut self) -> Db<'_> {
        match self {
            ReadConn::Sqlite(c) => Db::Sqlite(c),
            ReadConn::Postgres(c) => Db::Postgres(c),
        }
    }
}

/// `&mut *tx` and `&mut *read` are a [`Conn`], as they were a connection before.
macro_rules! deref_to_conn {
    ($t:ty) => {
        impl std::ops::Deref for $t {
            type Target = Conn;
            fn deref(&self) -> &Conn {
                self
            }
        }
        impl std::ops::DerefMut for $t {
            fn deref_mut(&mut self) -> &mut Conn {
                self
            }
        }
    };
}
deref_to_conn!(WriteTx);

impl WriteTx {
    /// The SQLite connection, for tests that write around the engine's functions (panics
    /// on PostgreSQL).
    #[doc(hidden)]
    pub fn sqlite(&mut self) -> &mut sqlx::SqliteConnection {
        match &mut self.tx {
            TxKind::Sqlite(tx) => tx,
            TxKind::Postgres(_) => panic!("a SQLite test on PostgreSQL"),
        }
    }
}

impl ReadConn {
    /// The SQLite connection, for tests that read around the engine's functions (panics
    /// on PostgreSQL).
    #[doc(hidden)]
    pub fn sqlite(&mut self) -> &mut sqlx::SqliteConnection {
        match self {
            ReadConn::Sqlite(c) => c,
            ReadConn::Postgres(_) => panic!("a SQLite test on PostgreSQL"),
        }
    }
}
deref_to_conn!(ReadConn);

/// One connection (what a read or a write's statements run on).
pub type Conn = dyn AsConn + Send;
/// A write transaction (dereferences to a [`Conn`]).
pub type Tx = WriteTx;
/// A pooled connection for reads (dereferences to a [`Conn`]).
pub type Read = ReadConn;

/// The engine's SQLite migrations (`migrations/`, embedded in the binary).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// The engine's PostgreSQL migrations (`migrations-postgres/`): the same tables and
/// columns, in PostgreSQL's own terms.
static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// Opens (creating if needed) the database file, migrated.
pub async fn open_file(path: &Path) -> Result<Pool> {
    connect(SqliteConnectOptions::new().filename(path).create_if_missing(true), 8, BUSY_TIMEOUT).await
}

/// How long SQLite waits for a lock another process holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A private in-memory database, migrated.
pub async fn open_memory() -> Result<Pool> {
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
    Ok(Pool { inner: PoolKind::Sqlite(pool), writer: Default::default() })
}

/// How many connections one node keeps to PostgreSQL.
const PG_CONNECTIONS: u32 = 16;
/// How long a node waits for PostgreSQL to answer a connection.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the PostgreSQL database at `url` (`postgres://user@host/db`, TLS through
/// rustls when the URL asks for it with `sslmode`), migrated.
pub async fn open_postgres(url: &str) -> Result<Pool> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::validation(format!("not a PostgreSQL address ({e})")))?
        .application_name("postdesk");
    let pool = PgPoolOptions::new()
        .max_connections(PG_CONNECTIONS)
        .acquire_timeout(PG_CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| Error::unavailable(format!("cannot open the database: {e}")))?;
    // Two nodes starting together must not both migrate: the migrator takes PostgreSQL's
    // advisory lock for its run.
    PG_MIGRATOR.run(&pool).await?;
    Ok(Pool { inner: PoolKind::Postgres(pool), writer: Default::default() })
}

/// Runs the PostgreSQL migrations on the database at `url` and disconnects.
pub async fn migrate_postgres(url: &str) -> Result<()> {
    open_postgres(url).await?.close().await;
    Ok(())
}

/// A short name for the PostgreSQL migrations' content (their checksums): test templates
/// are named after it.
pub fn postgres_schema_version() -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for m in PG_MIGRATOR.iter() {
        hash.update(m.version.to_be_bytes());
        hash.update(&*m.checksum);
    }
    hex::encode(&hash.finalize()[..6])
}

/// The advisory lock every PostgreSQL write transaction holds: one writer at a time across
/// every node, as SQLite's `BEGIN IMMEDIATE` gives one writer at a time across processes,
/// so every check-then-write the engine makes inside a write transaction stays true until
/// it commits.
const PG_WRITE_LOCK: i64 = 0x706f_7374_6465_736b; // "postdesk"

/// Starts a write transaction, taking the write lock up front (SQLite's `BEGIN IMMEDIATE`,
/// PostgreSQL's transaction-scoped advisory lock) so two writers never deadlock on a
/// read-to-write upgrade nor see each other's half-made changes.
pub async fn begin_write(pool: &Pool) -> Result<Tx> {
    let turn = tokio::time::timeout(WRITER_WAIT, pool.writer.clone().lock_owned())
        .await
        .map_err(|_| Error::unavailable("the database is busy; try again"))?;
    let tx = match &pool.inner {
        PoolKind::Sqlite(p) => TxKind::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
        PoolKind::Postgres(p) => {
            let mut tx = p.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_WRITE_LOCK).execute(&mut *tx).await?;
            TxKind::Postgres(tx)
        }
    };
    Ok(WriteTx { tx, _turn: turn })
}

/// A connection for reads.
pub async fn read(pool: &Pool) -> Result<Read> {
    Ok(match &pool.inner {
        PoolKind::Sqlite(p) => ReadConn::Sqlite(p.acquire().await?),
        PoolKind::Postgres(p) => ReadConn::Postgres(p.acquire().await?),
    })
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
        on_pool!(pool, p => sqlx::query("CREATE TABLE t (n INTEGER)").execute(p).await.map(|_| ())).unwrap();
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
                on_db!(&mut tx, c => sqlx::query("INSERT INTO t (n) VALUES ($1)").bind(n).execute(c).await.map(|_| ()))
                    .unwrap();
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
        let count: i64 = on_pool!(pool, p => sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(p).await).unwrap();
        assert_eq!(count, 40, "every writer got its turn");
    }
}
