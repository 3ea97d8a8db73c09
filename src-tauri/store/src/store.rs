//! Mail storage: the `folders` and `messages` tables and the delivery keys.

use super::Conn;
use crate::Result;
use postdesk_contract::mail::STANDARD_FOLDERS;

/// The current time as UNIX seconds, for UIDVALIDITY (a 32-bit non-zero number).
pub fn uidvalidity() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp().clamp(1, i64::from(u32::MAX))
}

/// The id of folder `name` of an account, if it has one.
pub async fn folder_id(conn: &mut Conn, account_id: i64, name: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT id FROM folders WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(name)
            .fetch_optional(conn)
            .await?)
    })
}

/// The id of folder `name` of an account, creating it (and the standard folders) if needed.
pub async fn ensure_folder(conn: &mut Conn, account_id: i64, name: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        if let Some(id) = folder_id(&mut *conn, account_id, name).await? {
            return Ok(id);
        }
        let validity = uidvalidity();
        for folder in STANDARD_FOLDERS.iter().copied().chain(std::iter::once(name)) {
            sqlx::query("INSERT INTO folders (account_id, name, uidvalidity) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(account_id)
                .bind(folder)
                .bind(validity)
                .execute(&mut *conn)
                .await?;
        }
        Ok(sqlx::query_scalar("SELECT id FROM folders WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(name)
            .fetch_one(conn)
            .await?)
    })
}

/// Takes the next UID of a folder.
pub async fn next_uid(conn: &mut Conn, folder_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("UPDATE folders SET uidnext = uidnext + 1 WHERE id = $1 RETURNING uidnext - 1")
            .bind(folder_id)
            .fetch_one(conn)
            .await?)
    })
}

/// Bytes stored for an account.
pub async fn used_bytes(conn: &mut Conn, account_id: i64) -> Result<u64> {
    super::on_db!(conn, conn => {
        // A running total kept by triggers on `messages` (migration 20261123400001).
        let used: i64 =
            sqlx::query_scalar("SELECT used_bytes FROM accounts WHERE id = $1").bind(account_id).fetch_one(conn).await?;
        Ok(used as u64)
    })
}

/// Deletes every message of an account (in the caller's transaction); returns the count,
/// the bytes and the blob names that may now be unreferenced.
pub async fn delete_messages(conn: &mut Conn, account_id: i64) -> Result<(u32, u64, Vec<String>)> {
    super::on_db!(conn, conn => {
        let (count, bytes): (i64, i64) =
            sqlx::query_as("SELECT count(*), coalesce(CAST(sum(size) AS BIGINT), 0) FROM messages WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *conn)
                .await?;
        let hashes: Vec<String> = sqlx::query_scalar("SELECT DISTINCT blob_hash FROM messages WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM messages WHERE account_id = $1").bind(account_id).execute(conn).await?;
        Ok((count as u32, bytes as u64, hashes))
    })
}

/// The id, status and quota (MiB) of the account at `address` (its own address).
pub async fn mailbox(conn: &mut Conn, address: &str) -> Result<Option<(i64, String, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, status, quota_mb FROM accounts WHERE address = $1")
            .bind(address)
            .fetch_optional(conn)
            .await?)
    })
}

/// A new message row.
pub struct NewMessage<'a> {
    pub account_id: i64,
    pub folder_id: i64,
    pub uid: i64,
    pub blob_hash: &'a str,
    pub size: i64,
    pub received_at: String,
}

/// Inserts a message row (its blob exists).
pub async fn insert_message(conn: &mut Conn, m: NewMessage<'_>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO messages (account_id, folder_id, uid, blob_hash, size, received_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(m.account_id)
        .bind(m.folder_id)
        .bind(m.uid)
        .bind(m.blob_hash)
        .bind(m.size)
        .bind(m.received_at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Whether a delivery with this key was recorded.
pub async fn key_seen(conn: &mut Conn, key: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM delivery_keys WHERE key = $1").bind(key).fetch_optional(conn).await?;
        Ok(seen.is_some())
    })
}

/// Records a delivery's key.
pub async fn record_key(conn: &mut Conn, key: &str, at: String) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO delivery_keys (key, delivered_at) VALUES ($1, $2)").bind(key).bind(at).execute(conn).await?;
        Ok(())
    })
}

/// Forgets delivery keys recorded before `before`; returns how many went.
pub async fn forget_keys(conn: &mut Conn, before: String) -> Result<u64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query("DELETE FROM delivery_keys WHERE delivered_at < $1")
            .bind(before)
            .execute(conn)
            .await?
            .rows_affected())
    })
}

/// The blob of message `uid` in `folder` of the account at `address`.
pub async fn blob_of(conn: &mut Conn, address: &str, folder: &str, uid: u32) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT m.blob_hash FROM messages m JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = m.account_id
                 WHERE a.address = $1 AND f.name = $2 AND m.uid = $3",
        )
        .bind(address)
        .bind(folder)
        .bind(i64::from(uid))
        .fetch_optional(conn)
        .await?)
    })
}

/// Whether any message refers to the blob `hash`.
pub async fn blob_used(conn: &mut Conn, hash: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        // A message waiting in the outbound queue (sql/queue.rs) keeps its blob too.
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM messages WHERE blob_hash = $1 UNION ALL SELECT CAST(1 AS BIGINT) FROM outbound_messages WHERE blob_hash = $1 LIMIT 1",
        )
        .bind(hash)
        .fetch_optional(conn)
        .await?;
        Ok(used.is_some())
    })
}
