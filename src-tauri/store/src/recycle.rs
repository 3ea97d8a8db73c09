//! The recycle bin: its entries, restoring, transferring mail and purging for good.

use std::collections::HashMap;

use super::Conn;
use crate::Result;
use crate::model::AccountStatus;

/// Records that the account `account_id` went to the recycle bin.
pub async fn add_entry(
    conn: &mut Conn,
    account_id: i64,
    status_before: AccountStatus,
    at: &str,
    by: &str,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO recycle_bin (account_id, status_before, deleted_at, deleted_by) VALUES ($1, $2, $3, $4)")
            .bind(account_id)
            .bind(status_before.as_str())
            .bind(at)
            .bind(by)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// A recycle-bin entry as stored.
#[derive(sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub status_before: String,
    pub deleted_at: String,
    pub restored_at: Option<String>,
    pub restored_by: Option<String>,
    pub transferred_to: Option<String>,
    pub transferred_at: Option<String>,
}

/// The newest recycle-bin entry of an account.
pub async fn latest_entry(conn: &mut Conn, account_id: i64) -> Result<Option<EntryRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT id, status_before, deleted_at, restored_at, restored_by, transferred_to, transferred_at
             FROM recycle_bin WHERE account_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(conn)
        .await?)
    })
}

/// How many days the domain `domain` keeps deleted accounts.
pub async fn retention_days(conn: &mut Conn, domain: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT retention_days FROM domains WHERE name = $1").bind(domain).fetch_one(conn).await?)
    })
}

/// One listed entry with its account; `latest` is the account's newest entry's id.
#[derive(sqlx::FromRow)]
pub struct ListedRow {
    pub id: i64,
    pub account_id: i64,
    pub address: String,
    pub display_name: String,
    pub status: String,
    pub deleted_at: String,
    pub deleted_by: String,
    pub restored_at: Option<String>,
    pub restored_by: Option<String>,
    pub transferred_to: Option<String>,
    pub transferred_at: Option<String>,
    pub latest: i64,
}

/// At most `limit` entries of a domain's recycle bin after the entry (`deleted_at`, `id`)
/// `after`, newest deletion first. Keyset paging: the same cost at any depth.
pub async fn entries(conn: &mut Conn, domain: &str, after: Option<(&str, i64)>, limit: u32) -> Result<Vec<ListedRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT e.id, e.account_id, a.address, a.display_name, a.status, e.deleted_at, e.deleted_by,
                e.restored_at, e.restored_by, e.transferred_to, e.transferred_at,
                (SELECT max(id) FROM recycle_bin WHERE account_id = a.id) AS latest
         FROM recycle_bin e JOIN accounts a ON a.id = e.account_id JOIN domains d ON d.id = a.domain_id
         WHERE d.name = $1 AND ($2 IS NULL OR (e.deleted_at, e.id) < ($2, $3))
         ORDER BY e.deleted_at DESC, e.id DESC LIMIT $4",
        )
        .bind(domain)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?)
    })
}

/// Messages and bytes of the deleted accounts `accounts` (a JSON array of ids), by account id.
pub async fn usage(conn: &mut Conn, accounts: &str) -> Result<HashMap<i64, (i64, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT m.account_id, count(*), CAST(sum(m.size) AS BIGINT) FROM messages m JOIN accounts a ON a.id = m.account_id
             WHERE a.id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) AND a.status = 'deleted' GROUP BY m.account_id",
        )
        .bind(accounts)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(id, n, size)| (id, (n, size)))
        .collect())
    })
}

/// Brings the account `id` back with status `status`.
pub async fn restore_account(conn: &mut Conn, id: i64, status: AccountStatus, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET status = $1, deleted_at = NULL, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Marks an entry restored.
pub async fn mark_restored(conn: &mut Conn, entry_id: i64, at: &str, by: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE recycle_bin SET restored_at = $1, restored_by = $2 WHERE id = $3")
            .bind(at)
            .bind(by)
            .bind(entry_id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// An account's messages: id, folder name, size; by folder name and uid.
pub async fn messages(conn: &mut Conn, account_id: i64) -> Result<Vec<(i64, String, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT m.id, f.name, m.size FROM messages m JOIN folders f ON f.id = m.folder_id
             WHERE m.account_id = $1 ORDER BY f.name, m.uid",
        )
        .bind(account_id)
        .fetch_all(conn)
        .await?)
    })
}

/// Moves a message into another account's folder under a new uid.
pub async fn move_message(conn: &mut Conn, message_id: i64, account_id: i64, folder_id: i64, uid: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE messages SET account_id = $1, folder_id = $2, uid = $3 WHERE id = $4")
            .bind(account_id)
            .bind(folder_id)
            .bind(uid)
            .bind(message_id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Marks an entry's mail transferred to `to`.
pub async fn mark_transferred(conn: &mut Conn, entry_id: i64, to: &str, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE recycle_bin SET transferred_to = $1, transferred_at = $2 WHERE id = $3")
            .bind(to)
            .bind(at)
            .bind(entry_id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Removes a deleted account (its messages already gone) for good: folders, pickup rules,
/// catch-all duty, extra addresses, entries, the row, and what pointed at its addresses.
/// Returns its addresses (the extra ones, then `address`).
pub async fn forget_account(conn: &mut Conn, id: i64, address: &str) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM folders WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM pickup_rules WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("UPDATE domains SET catch_all_enabled = FALSE, catch_all_account_id = NULL WHERE catch_all_account_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let mut gone: Vec<String> = sqlx::query_scalar("SELECT address FROM account_aliases WHERE account_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM account_aliases WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM recycle_bin WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(&mut *conn).await?;
        gone.push(address.to_string());
        let gone_json = serde_json::to_string(&gone)?;
        // Aliases and groups stop pointing at addresses that no longer exist.
        sqlx::query("DELETE FROM alias_targets WHERE target IN (SELECT value FROM json_each($1))")
            .bind(&gone_json)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM group_members WHERE member IN (SELECT value FROM json_each($1))")
            .bind(&gone_json)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM addresses WHERE address IN (SELECT value FROM json_each($1))")
            .bind(&gone_json)
            .execute(&mut *conn)
            .await?;
        Ok(gone)
    })
}

/// A recycle-bin entry that may have aged out.
#[derive(sqlx::FromRow)]
pub struct PurgeCandidate {
    pub entry: i64,
    pub account: i64,
    pub address: String,
    pub domain: String,
    pub deleted_at: String,
    pub retention_days: i64,
    pub restored_at: Option<String>,
}

/// Every account's newest entry while it is deleted, and every restored entry.
pub async fn purge_candidates(conn: &mut Conn) -> Result<Vec<PurgeCandidate>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT e.id AS entry, a.id AS account, a.address, d.name AS domain, e.deleted_at, d.retention_days,
                    e.restored_at
             FROM recycle_bin e JOIN accounts a ON a.id = e.account_id JOIN domains d ON d.id = a.domain_id
             WHERE (a.status = 'deleted' AND e.id = (SELECT max(id) FROM recycle_bin WHERE account_id = a.id))
                OR e.restored_at IS NOT NULL",
        )
        .fetch_all(conn)
        .await?)
    })
}

/// Deletes the entries `ids`.
pub async fn delete_entries(conn: &mut Conn, ids: &[i64]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM recycle_bin WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($1))")
            .bind(serde_json::to_string(ids)?)
            .execute(conn)
            .await?;
        Ok(())
    })
}
