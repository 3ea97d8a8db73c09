//! Mailbox logins: the account a login names, failed-login counting and lockout.

use super::Conn;
use crate::Result;
use std::sync::LazyLock;

use super::settings::lockout_threshold_sql;

/// What a login needs of an account and its domain.
#[derive(sqlx::FromRow)]
pub(crate) struct LoginRow {
    pub id: i64,
    pub address: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub force_password_change: bool,
    pub failed_logins: i64,
    pub lockout_threshold: i64,
}

/// The account whose own address or account alias is `address` (canonical).
pub(crate) async fn account(conn: &mut Conn, address: &str) -> Result<Option<LoginRow>> {
    static QUERY: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT a.id, a.address, a.status, a.password_hash, a.force_password_change, a.failed_logins, {} AS lockout_threshold
             FROM accounts a JOIN domains d ON d.id = a.domain_id LEFT JOIN account_aliases x ON x.account_id = a.id
             WHERE a.address = ?1 OR x.address = ?1 LIMIT 1",
            lockout_threshold_sql()
        )
    });
    Ok(sqlx::query_as(QUERY.as_str()).bind(address).fetch_optional(conn).await?)
}

/// Clears an account's failed-login counter.
pub(crate) async fn clear_failures(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET failed_logins = 0 WHERE id = ?").bind(id).execute(conn).await?;
    Ok(())
}

/// Counts a failed login; returns the failed logins in a row.
pub(crate) async fn count_failure(conn: &mut Conn, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins")
        .bind(id)
        .fetch_one(conn)
        .await?)
}

/// Locks the account `id` if it is active.
pub(crate) async fn lock(conn: &mut Conn, id: i64, at: String) -> Result<()> {
    sqlx::query("UPDATE accounts SET status = 'locked', updated_at = ? WHERE id = ? AND status = 'active'")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
