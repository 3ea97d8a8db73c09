//! Per-domain mailbox settings (retention, client host, catch-all, pickup rules) and the
//! folder and message listings of "enter mailbox".

use super::Conn;
use crate::Result;
use std::sync::LazyLock;

use super::settings::lockout_threshold_sql;

/// A domain's mailbox settings as stored.
#[derive(sqlx::FromRow)]
pub struct SettingsRow {
    pub id: i64,
    pub lockout_threshold: i64,
    pub retention_days: i64,
    pub mail_host: Option<String>,
    pub catch_all_enabled: bool,
    pub target: Option<String>,
}

/// The mailbox settings of the domain `domain` (canonical), pickup rules apart.
pub async fn settings(conn: &mut Conn, domain: &str) -> Result<Option<SettingsRow>> {
    super::on_db!(conn, conn => {
        static QUERY: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT d.id, {} AS lockout_threshold, d.retention_days, d.mail_host, d.catch_all_enabled, a.address AS target
             FROM domains d LEFT JOIN accounts a ON a.id = d.catch_all_account_id WHERE d.name = $1",
                lockout_threshold_sql()
            )
        });
        Ok(sqlx::query_as(QUERY.as_str()).bind(domain).fetch_optional(conn).await?)
    })
}

/// A domain's pickup rules in order: pattern, target account's address.
pub async fn pickup_rules(conn: &mut Conn, domain_id: i64) -> Result<Vec<(String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (String, String)>(
            "SELECT r.pattern, a.address FROM pickup_rules r JOIN accounts a ON a.id = r.account_id
             WHERE r.domain_id = $1 ORDER BY r.position",
        )
        .bind(domain_id)
        .fetch_all(conn)
        .await?)
    })
}

/// A domain's id, whether catch-all collection is on, and the collecting mailbox.
pub async fn catch_all(conn: &mut Conn, domain: &str) -> Result<Option<(i64, bool, Option<String>)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (i64, bool, Option<String>)>(
            "SELECT d.id, d.catch_all_enabled, a.address FROM domains d LEFT JOIN accounts a ON a.id = d.catch_all_account_id
             WHERE d.name = $1",
        )
        .bind(domain)
        .fetch_optional(conn)
        .await?)
    })
}

/// The changes of `update_mailbox_settings`; `None` keeps a field, `Some(None)` clears it.
pub struct SettingsChanges {
    pub retention_days: Option<u32>,
    pub mail_host: Option<Option<String>>,
    pub catch_all_enabled: bool,
    pub catch_all_account: Option<Option<i64>>,
}

/// Applies `c` to the domain `domain_id`.
pub async fn update_settings(conn: &mut Conn, domain_id: i64, c: SettingsChanges) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE domains SET retention_days = coalesce($1, retention_days),
            mail_host = CASE WHEN $2 THEN $3 ELSE mail_host END,
            catch_all_enabled = $4,
            catch_all_account_id = CASE WHEN $5 THEN $6 ELSE catch_all_account_id END
         WHERE id = $7",
        )
        .bind(c.retention_days.map(i64::from))
        .bind(c.mail_host.is_some())
        .bind(c.mail_host.flatten())
        .bind(c.catch_all_enabled)
        .bind(c.catch_all_account.is_some())
        .bind(c.catch_all_account.flatten())
        .bind(domain_id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Replaces a domain's pickup rules with `rules` (pattern, account id) in order.
pub async fn set_pickup_rules(conn: &mut Conn, domain_id: i64, rules: &[(&str, i64)]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM pickup_rules WHERE domain_id = $1").bind(domain_id).execute(&mut *conn).await?;
        for (position, (pattern, account)) in rules.iter().enumerate() {
            sqlx::query("INSERT INTO pickup_rules (domain_id, position, pattern, account_id) VALUES ($1, $2, $3, $4)")
                .bind(domain_id)
                .bind(position as i64)
                .bind(*pattern)
                .bind(*account)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// An account's failed logins, its domain's lockout threshold and mail host.
pub async fn login_state(conn: &mut Conn, account_id: i64) -> Result<(i64, i64, Option<String>)> {
    super::on_db!(conn, conn => {
        static QUERY: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT a.failed_logins, {}, d.mail_host FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.id = $1",
                lockout_threshold_sql()
            )
        });
        Ok(sqlx::query_as(QUERY.as_str()).bind(account_id).fetch_one(conn).await?)
    })
}

/// One folder of an account with its totals.
#[derive(sqlx::FromRow)]
pub struct FolderRow {
    pub name: String,
    pub messages: i64,
    pub size: i64,
    pub unseen: i64,
}

/// Every folder of an account with its message count, bytes and unseen messages.
pub async fn folders(conn: &mut Conn, account_id: i64) -> Result<Vec<FolderRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT f.name, count(m.id) AS messages, coalesce(CAST(sum(m.size) AS BIGINT), 0) AS size,
            coalesce(CAST(sum(CASE WHEN instr(' ' || m.flags || ' ', ' \\Seen ') = 0 THEN 1 ELSE 0 END) AS BIGINT), 0) AS unseen
         FROM folders f LEFT JOIN messages m ON m.folder_id = f.id WHERE f.account_id = $1 GROUP BY f.id",
        )
        .bind(account_id)
        .fetch_all(conn)
        .await?)
    })
}

/// How many messages a folder holds.
pub async fn message_count(conn: &mut Conn, folder_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM messages WHERE folder_id = $1").bind(folder_id).fetch_one(conn).await?)
    })
}

/// A page of a folder's messages, newest first: uid, blob hash, size, received at, flags.
pub async fn messages(
    conn: &mut Conn,
    folder_id: i64,
    limit: u32,
    offset: u32,
) -> Result<Vec<(i64, String, i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT uid, blob_hash, size, received_at, flags FROM messages WHERE folder_id = $1
             ORDER BY uid DESC LIMIT $2 OFFSET $3",
        )
        .bind(folder_id)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(conn)
        .await?)
    })
}
