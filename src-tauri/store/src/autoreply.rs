//! Auto-replies (`auto_replies`) and who was answered (`auto_reply_sent`).

use super::Conn;
use crate::Result;

/// An account's stored auto-reply.
#[derive(sqlx::FromRow, Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub account_id: i64,
    pub enabled: bool,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub subject: String,
    pub body: String,
    pub generation: i64,
}

/// The auto-reply of the account with id `account_id`, if one was ever set.
pub async fn get(conn: &mut Conn, account_id: i64) -> Result<Option<Rule>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT account_id, enabled, starts_at, ends_at, subject, body, generation FROM auto_replies
             WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(conn)
        .await?)
    })
}

/// The enabled auto-reply of the account at `address` (its own address), with its display
/// name: what a delivery asks for every copy it files into an INBOX.
pub async fn enabled_for(conn: &mut Conn, address: &str) -> Result<Option<(Rule, String)>> {
    super::on_db!(conn, conn => {
        /// The rule's columns and the account's display name.
        type Row = (i64, bool, Option<String>, Option<String>, String, String, i64, String);
        let row: Option<Row> = sqlx::query_as(
            "SELECT r.account_id, r.enabled, r.starts_at, r.ends_at, r.subject, r.body, r.generation, a.display_name
             FROM accounts a JOIN auto_replies r ON r.account_id = a.id WHERE a.address = $1 AND r.enabled = TRUE",
        )
        .bind(address)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|(account_id, enabled, starts_at, ends_at, subject, body, generation, name)| {
            (Rule { account_id, enabled, starts_at, ends_at, subject, body, generation }, name)
        }))
    })
}

/// Stores an account's auto-reply (insert or replace).
pub async fn set(conn: &mut Conn, r: &Rule, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO auto_replies (account_id, enabled, starts_at, ends_at, subject, body, generation, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, starts_at = excluded.starts_at,
             ends_at = excluded.ends_at, subject = excluded.subject, body = excluded.body,
             generation = excluded.generation, updated_at = excluded.updated_at",
        )
        .bind(r.account_id)
        .bind(r.enabled)
        .bind(&r.starts_at)
        .bind(&r.ends_at)
        .bind(&r.subject)
        .bind(&r.body)
        .bind(r.generation)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// The generation under which `sender` was last answered for the account, if ever.
pub async fn answered(conn: &mut Conn, account_id: i64, sender: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT generation FROM auto_reply_sent WHERE account_id = $1 AND sender = $2")
            .bind(account_id)
            .bind(sender)
            .fetch_optional(conn)
            .await?)
    })
}

/// Records that `sender` was answered now under `generation`, and forgets the oldest
/// answered senders of the account beyond `keep`.
pub async fn record_answer(
    conn: &mut Conn,
    account_id: i64,
    sender: &str,
    generation: i64,
    now: i64,
    keep: i64,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO auto_reply_sent (account_id, sender, generation, replied_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, sender) DO UPDATE SET generation = excluded.generation,
             replied_at = excluded.replied_at",
        )
        .bind(account_id)
        .bind(sender)
        .bind(generation)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM auto_reply_sent WHERE account_id = $1 AND sender IN (
             SELECT sender FROM auto_reply_sent WHERE account_id = $1
             ORDER BY replied_at DESC, sender LIMIT 9223372036854775807 OFFSET $2)",
        )
        .bind(account_id)
        .bind(keep)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// How many senders the account remembers having answered.
#[doc(hidden)]
pub async fn answered_count(conn: &mut Conn, account_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM auto_reply_sent WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(conn)
            .await?)
    })
}
