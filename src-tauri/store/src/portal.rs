//! The user portal: mailbox users' web sessions and the failed sign-ins its rate limits count.

use sqlx::Row;

use super::{Conn, Pool};
use crate::Result;

/// A portal session with what the portal needs of its account.
pub struct SessionRow {
    pub id: String,
    pub account_id: i64,
    pub address: String,
    pub status: String,
    pub force_password_change: bool,
    pub security_questions_set: bool,
    pub csrf: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

const SESSION_COLUMNS: &str =
    "SELECT s.id, a.id AS account_id, a.address, a.status, a.force_password_change, a.security_questions_set,
            s.csrf, s.last_seen_at, s.expires_at
     FROM portal_sessions s JOIN accounts a ON a.id = s.account_id";

/// The session whose secret hashes to `secret_hash`.
pub async fn session(conn: &mut Conn, secret_hash: &str) -> Result<Option<SessionRow>> {
    super::on_db!(conn, conn => {
        let row = sqlx::query(&format!("{SESSION_COLUMNS} WHERE s.secret_hash = $1"))
            .bind(secret_hash)
            .fetch_optional(conn)
            .await?;
        Ok(row.map(session_row))
    })
}

/// The session `id`.
pub async fn session_by_id(conn: &mut Conn, id: &str) -> Result<Option<SessionRow>> {
    super::on_db!(conn, conn => {
        let row = sqlx::query(&format!("{SESSION_COLUMNS} WHERE s.id = $1")).bind(id).fetch_optional(conn).await?;
        Ok(row.map(session_row))
    })
}

/// Whether the admin asked account `id` for a new password.
pub async fn force_password_change(conn: &mut Conn, id: i64) -> Result<bool> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT force_password_change FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .unwrap_or(false))
    })
}

fn session_row(r: impl super::DbRow) -> SessionRow {
    SessionRow {
        id: r.get("id"),
        account_id: r.get("account_id"),
        address: r.get("address"),
        status: r.get("status"),
        force_password_change: r.get("force_password_change"),
        security_questions_set: r.get("security_questions_set"),
        csrf: r.get("csrf"),
        last_seen_at: r.get("last_seen_at"),
        expires_at: r.get("expires_at"),
    }
}

/// A new portal session.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub secret_hash: &'a str,
    pub account_id: i64,
    pub csrf: &'a str,
    pub client: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Stores a session; an account keeps at most `keep` of them (the oldest go). Sessions past
/// their absolute end are removed first.
pub async fn insert_session(conn: &mut Conn, s: NewSession<'_>, keep: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM portal_sessions WHERE expires_at <= $1").bind(s.now).execute(&mut *conn).await?;
        sqlx::query(
            "INSERT INTO portal_sessions (id, secret_hash, account_id, csrf, client, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id)
        .bind(s.secret_hash)
        .bind(s.account_id)
        .bind(s.csrf)
        .bind(s.client)
        .bind(s.now)
        .bind(s.now)
        .bind(s.expires_at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM portal_sessions WHERE account_id = $1 AND id NOT IN
                 (SELECT id FROM portal_sessions WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2)",
        )
        .bind(s.account_id)
        .bind(i64::from(keep))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Records that session `id` was used `at` (on its own connection from the pool).
pub async fn touch_session(pool: &Pool, id: &str, at: i64) -> Result<()> {
    super::on_pool!(pool, p => sqlx::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE id = $2").bind(at).bind(id).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Deletes session `id`; whether it existed.
pub async fn delete_session(conn: &mut Conn, id: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        let done = sqlx::query("DELETE FROM portal_sessions WHERE id = $1").bind(id).execute(conn).await?;
        Ok(done.rows_affected() == 1)
    })
}

/// Deletes the portal sessions of account `account_id` but `keep` (if given); how many.
pub async fn delete_sessions_of(conn: &mut Conn, account_id: i64, keep: Option<&str>) -> Result<u64> {
    super::on_db!(conn, conn => {
        let done = sqlx::query("DELETE FROM portal_sessions WHERE account_id = $1 AND id <> coalesce($2, '')")
            .bind(account_id)
            .bind(keep)
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    })
}

/// The id and password hash of the account `address` (its own address only).
pub async fn credentials(conn: &mut Conn, address: &str) -> Result<Option<(i64, Option<String>)>> {
    super::on_db!(conn, conn => {
        let row = sqlx::query("SELECT id, password_hash FROM accounts WHERE address = $1")
            .bind(address)
            .fetch_optional(conn)
            .await?;
        Ok(row.map(|r| (r.get("id"), r.get("password_hash"))))
    })
}

/// Failed portal sign-ins since `since` for the address and for the client.
pub async fn failures(conn: &mut Conn, address: &str, client: &str, since: i64) -> Result<(i64, i64)> {
    super::on_db!(conn, conn => {
        let by_address: i64 =
            sqlx::query_scalar("SELECT count(*) FROM portal_sign_in_failures WHERE address = $1 AND at >= $2")
                .bind(address)
                .bind(since)
                .fetch_one(&mut *conn)
                .await?;
        let by_client: i64 =
            sqlx::query_scalar("SELECT count(*) FROM portal_sign_in_failures WHERE client = $1 AND at >= $2")
                .bind(client)
                .bind(since)
                .fetch_one(conn)
                .await?;
        Ok((by_address, by_client))
    })
}

/// Records a failure; forgets those before `forget_before`, and keeps at most `keep`.
pub async fn record_failure(
    conn: &mut Conn,
    address: &str,
    client: &str,
    at: i64,
    forget_before: i64,
    keep: i64,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO portal_sign_in_failures (address, client, at) VALUES ($1, $2, $3)")
            .bind(address)
            .bind(client)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "DELETE FROM portal_sign_in_failures WHERE at < $1
                 OR id <= (SELECT max(id) FROM portal_sign_in_failures) - $2",
        )
        .bind(forget_before)
        .bind(keep)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Forgets the failures of an address (after it signed in).
pub async fn clear_failures(conn: &mut Conn, address: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM portal_sign_in_failures WHERE address = $1").bind(address).execute(conn).await?;
        Ok(())
    })
}

/// The status of account `id` and whether it has security questions set.
pub async fn account_state(conn: &mut Conn, id: i64) -> Result<Option<(String, bool)>> {
    super::on_db!(conn, conn => {
        let row = sqlx::query("SELECT status, security_questions_set FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
        Ok(row.map(|r| (r.get("status"), r.get("security_questions_set"))))
    })
}

/// The security questions of account `id` with their answer hashes, in order.
pub async fn security_questions(conn: &mut Conn, id: i64) -> Result<Vec<(String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT question, answer_hash FROM security_questions WHERE account_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(conn)
            .await?)
    })
}

/// Replaces the security questions of account `id` with `questions` (question, answer
/// hash), marking the account as having them.
pub async fn set_security_questions(conn: &mut Conn, id: i64, questions: &[(String, String)], at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM security_questions WHERE account_id = $1").bind(id).execute(&mut *conn).await?;
        for (position, (question, hash)) in questions.iter().enumerate() {
            sqlx::query(
                "INSERT INTO security_questions (account_id, position, question, answer_hash, set_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(position as i64 + 1)
            .bind(question)
            .bind(hash)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query("UPDATE accounts SET security_questions_set = TRUE, updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The installation's key for the stand-in recovery questions.
pub async fn recovery_key(conn: &mut Conn) -> Result<String> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT secret FROM portal_recovery_key WHERE id = 1").fetch_one(conn).await?)
    })
}
