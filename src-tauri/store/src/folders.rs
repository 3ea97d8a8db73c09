//! Folders and the messages in them, as the IMAP/POP3 side of the store uses them
//! (engine/folders.rs owns the rules). UID lists are bound as one JSON array and expanded
//! with `json_each`, so a long `UID STORE 1:5000` stays a single statement.

use postdesk_contract::mail::FolderState;

use super::Conn;
use crate::Result;

/// What the folder operations need of an account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub status: String,
    pub quota_mb: i64,
    /// The largest UIDVALIDITY a folder of the account gave up (deleted or renamed away).
    pub retired_uidvalidity: i64,
}

/// A folder row.
#[derive(Debug, Clone)]
pub struct Folder {
    pub id: i64,
    pub name: String,
    pub uidvalidity: i64,
    pub uidnext: i64,
}

/// A message row of a folder.
#[derive(Debug, Clone)]
pub struct Message {
    pub uid: i64,
    pub blob_hash: String,
    pub size: i64,
    pub received_at: String,
    pub flags: String,
    /// Set by the store's triggers; ignored on insert.
    pub modseq: i64,
}

type FolderTuple = (i64, String, i64, i64);
type MessageTuple = (i64, String, i64, String, String, i64);

fn folder((id, name, uidvalidity, uidnext): FolderTuple) -> Folder {
    Folder { id, name, uidvalidity, uidnext }
}

fn message((uid, blob_hash, size, received_at, flags, modseq): MessageTuple) -> Message {
    Message { uid, blob_hash, size, received_at, flags, modseq }
}

fn uid_list(uids: &[u32]) -> String {
    serde_json::to_string(uids).unwrap_or_else(|_| "[]".into())
}

/// The account at `address` (canonical).
pub async fn account(conn: &mut Conn, address: &str) -> Result<Option<Account>> {
    super::on_db!(conn, conn => {
        let row: Option<(i64, String, i64, i64)> =
            sqlx::query_as("SELECT id, status, quota_mb, retired_uidvalidity FROM accounts WHERE address = $1")
                .bind(address)
                .fetch_optional(conn)
                .await?;
        Ok(row.map(|(id, status, quota_mb, retired_uidvalidity)| Account { id, status, quota_mb, retired_uidvalidity }))
    })
}

/// Raises the account's retired UIDVALIDITY to at least `uidvalidity`.
pub async fn retire_uidvalidity(conn: &mut Conn, account_id: i64, uidvalidity: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET retired_uidvalidity = max(retired_uidvalidity, $1) WHERE id = $2")
            .bind(uidvalidity)
            .bind(account_id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The folder `name` of an account.
pub async fn by_name(conn: &mut Conn, account_id: i64, name: &str) -> Result<Option<Folder>> {
    super::on_db!(conn, conn => {
        let row: Option<FolderTuple> =
            sqlx::query_as("SELECT id, name, uidvalidity, uidnext FROM folders WHERE account_id = $1 AND name = $2")
                .bind(account_id)
                .bind(name)
                .fetch_optional(conn)
                .await?;
        Ok(row.map(folder))
    })
}

/// The folders of an account whose names start with `prefix` (byte-wise, no wildcards).
pub async fn under(conn: &mut Conn, account_id: i64, prefix: &str) -> Result<Vec<Folder>> {
    super::on_db!(conn, conn => {
        let rows: Vec<FolderTuple> = sqlx::query_as(
            "SELECT id, name, uidvalidity, uidnext FROM folders
             WHERE account_id = $1 AND substr(name, 1, length($2)) = $3 ORDER BY name",
        )
        .bind(account_id)
        .bind(prefix)
        .bind(prefix)
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().map(folder).collect())
    })
}

const STATE_SQL: &str =
    "SELECT f.name, f.uidvalidity, f.uidnext, f.highest_modseq, count(m.id), coalesce(CAST(sum(m.size) AS BIGINT), 0),
        coalesce(CAST(sum(CASE WHEN instr(' ' || m.flags || ' ', ' \\Seen ') = 0 THEN 1 ELSE 0 END) AS BIGINT), 0)
     FROM folders f LEFT JOIN messages m ON m.folder_id = f.id";

type StateTuple = (String, i64, i64, i64, i64, i64, i64);

fn state((name, uidvalidity, uidnext, highest_modseq, messages, bytes, unseen): StateTuple) -> FolderState {
    FolderState {
        name,
        uidvalidity: uidvalidity as u32,
        uidnext: uidnext as u32,
        highest_modseq: highest_modseq as u64,
        messages: messages as u32,
        unseen: unseen as u32,
        bytes: bytes as u64,
    }
}

/// Every folder of an account with its counts, in no particular order.
pub async fn states(conn: &mut Conn, account_id: i64) -> Result<Vec<FolderState>> {
    super::on_db!(conn, conn => {
        let rows: Vec<StateTuple> = sqlx::query_as(&format!("{STATE_SQL} WHERE f.account_id = $1 GROUP BY f.id"))
            .bind(account_id)
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(state).collect())
    })
}

/// One folder with its counts.
pub async fn state_of(conn: &mut Conn, folder_id: i64) -> Result<FolderState> {
    super::on_db!(conn, conn => {
        let row: StateTuple =
            sqlx::query_as(&format!("{STATE_SQL} WHERE f.id = $1 GROUP BY f.id")).bind(folder_id).fetch_one(conn).await?;
        Ok(state(row))
    })
}

/// Inserts a folder; returns its id.
pub async fn insert(conn: &mut Conn, account_id: i64, name: &str, uidvalidity: i64, uidnext: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "INSERT INTO folders (account_id, name, uidvalidity, uidnext) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(uidvalidity)
        .bind(uidnext)
        .fetch_one(conn)
        .await?)
    })
}

/// Renames a folder (its messages, UIDs and UIDVALIDITY stay).
pub async fn rename(conn: &mut Conn, folder_id: i64, name: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE folders SET name = $1 WHERE id = $2").bind(name).bind(folder_id).execute(conn).await?;
        Ok(())
    })
}

/// Moves every message of a folder into another, keeping their UIDs (the target must be
/// empty).
pub async fn move_messages(conn: &mut Conn, from: i64, to: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE messages SET folder_id = $1 WHERE folder_id = $2").bind(to).bind(from).execute(conn).await?;
        Ok(())
    })
}

/// Deletes a folder and its messages; returns the blob names that may now be unreferenced.
pub async fn delete(conn: &mut Conn, folder_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        let hashes: Vec<String> = sqlx::query_scalar("SELECT DISTINCT blob_hash FROM messages WHERE folder_id = $1")
            .bind(folder_id)
            .fetch_all(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM messages WHERE folder_id = $1").bind(folder_id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM folders WHERE id = $1").bind(folder_id).execute(conn).await?;
        Ok(hashes)
    })
}

const MESSAGE_SQL: &str = "SELECT uid, blob_hash, size, received_at, flags, modseq FROM messages";

/// The messages of a folder, in UID order.
pub async fn messages(conn: &mut Conn, folder_id: i64) -> Result<Vec<Message>> {
    super::on_db!(conn, conn => {
        let rows: Vec<MessageTuple> = sqlx::query_as(&format!("{MESSAGE_SQL} WHERE folder_id = $1 ORDER BY uid"))
            .bind(folder_id)
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(message).collect())
    })
}

/// The messages of a folder among `uids` (missing ones skipped), in UID order.
pub async fn messages_among(conn: &mut Conn, folder_id: i64, uids: &[u32]) -> Result<Vec<Message>> {
    super::on_db!(conn, conn => {
        let rows: Vec<MessageTuple> = sqlx::query_as(&format!(
            "{MESSAGE_SQL} WHERE folder_id = $1 AND uid IN (SELECT CAST(value AS BIGINT) FROM json_each($2)) ORDER BY uid"
        ))
        .bind(folder_id)
        .bind(uid_list(uids))
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().map(message).collect())
    })
}

/// Inserts a message row (its blob must exist).
pub async fn insert_message(conn: &mut Conn, account_id: i64, folder_id: i64, m: &Message) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO messages (account_id, folder_id, uid, blob_hash, size, received_at, flags)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(account_id)
        .bind(folder_id)
        .bind(m.uid)
        .bind(&m.blob_hash)
        .bind(m.size)
        .bind(&m.received_at)
        .bind(&m.flags)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Sets the stored flags of one message.
pub async fn set_flags(conn: &mut Conn, folder_id: i64, uid: i64, flags: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE messages SET flags = $1 WHERE folder_id = $2 AND uid = $3")
            .bind(flags)
            .bind(folder_id)
            .bind(uid)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Deletes the messages `uids` of a folder.
pub async fn delete_messages(conn: &mut Conn, folder_id: i64, uids: &[u32]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM messages WHERE folder_id = $1 AND uid IN (SELECT CAST(value AS BIGINT) FROM json_each($2))")
            .bind(folder_id)
            .bind(uid_list(uids))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Moves the messages `uids` of a folder into another under new UIDs (`pairs`: old, new).
pub async fn move_to(conn: &mut Conn, from: i64, to: i64, pairs: &[(u32, u32)]) -> Result<()> {
    super::on_db!(conn, conn => {
        for (old, new) in pairs {
            sqlx::query("UPDATE messages SET folder_id = $1, uid = $2 WHERE folder_id = $3 AND uid = $4")
                .bind(to)
                .bind(i64::from(*new))
                .bind(from)
                .bind(i64::from(*old))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// The folder names an account subscribed to, by name.
pub async fn subscriptions(conn: &mut Conn, account_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name")
            .bind(account_id)
            .fetch_all(conn)
            .await?)
    })
}

/// How many names an account subscribed to.
pub async fn subscription_count(conn: &mut Conn, account_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM subscriptions WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(conn)
            .await?)
    })
}

/// Subscribes to (or unsubscribes from) a name.
pub async fn set_subscribed(conn: &mut Conn, account_id: i64, name: &str, on: bool) -> Result<()> {
    super::on_db!(conn, conn => {
        let sql = if on {
            "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2"
        };
        sqlx::query(sql).bind(account_id).bind(name).execute(conn).await?;
        Ok(())
    })
}

/// How many folders an account has.
pub async fn folder_count(conn: &mut Conn, account_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM folders WHERE account_id = $1").bind(account_id).fetch_one(conn).await?)
    })
}
