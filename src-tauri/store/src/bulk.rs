//! Bulk account actions: the selected accounts, and each action as one set-based statement
//! over a JSON array of account ids (`json_each`), so 100,000 accounts cost a few statements,
//! not 100,000 round trips. The undoable ones record each account's before-state in
//! `batch_changes` (scope `account_field`) first, from the row itself.

use super::Conn;
use crate::Result;

/// A selected account as the bulk actions need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Selected {
    pub id: i64,
    pub address: String,
    pub status: String,
    pub department_id: Option<i64>,
    pub quota_mb: i64,
    pub used_bytes: i64,
}

const SELECT: &str = "SELECT id, address, status, department_id, quota_mb, used_bytes FROM accounts";

/// The accounts of the domain at `addresses` (any status).
pub async fn at_addresses(conn: &mut Conn, domain: i64, addresses: &[&str]) -> Result<Vec<Selected>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE domain_id = $1 AND address IN (SELECT value FROM json_each($2))"))
            .bind(domain)
            .bind(serde_json::to_string(addresses)?)
            .fetch_all(conn)
            .await?)
    })
}

/// The accounts `ids` of the domain, by address.
pub async fn by_ids(conn: &mut Conn, domain: i64, ids: &[i64]) -> Result<Vec<Selected>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE domain_id = $1 AND id IN (SELECT CAST(value AS BIGINT) FROM json_each($2)) ORDER BY address"
        ))
        .bind(domain)
        .bind(serde_json::to_string(ids)?)
        .fetch_all(conn)
        .await?)
    })
}

/// Records, for batch `batch`, the current value of `key` (`status` or `quota_mb`, as JSON)
/// of each account of `ids` as its before-state and `after` (JSON) as its after-state.
pub async fn record_field(conn: &mut Conn, batch: u32, key: &str, after: &str, ids: &[i64]) -> Result<()> {
    super::on_db!(conn, conn => {
        let current = match key {
            "status" => "json_quote(status)",
            "quota_mb" => "json_quote(quota_mb)",
            _ => return Err(crate::Error::internal(format!("no account field {key}"))),
        };
        sqlx::query(&format!(
            "INSERT INTO batch_changes (batch_id, scope, scope_id, key, label, before, after)
         SELECT $1, 'account_field', id, $2, 'account ' || address, {current}, $3
         FROM accounts WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($4))"
        ))
        .bind(i64::from(batch))
        .bind(key)
        .bind(after)
        .bind(serde_json::to_string(ids)?)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Sets the status of the accounts `ids`; `active` also clears their failed logins.
pub async fn set_status(conn: &mut Conn, ids: &[i64], status: &str, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE accounts SET status = $1, updated_at = $2,
            failed_logins = CASE WHEN $1 = 'active' THEN 0 ELSE failed_logins END
         WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($3))",
        )
        .bind(status)
        .bind(at)
        .bind(serde_json::to_string(ids)?)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Sets the quota of the accounts `ids`.
pub async fn set_quota(conn: &mut Conn, ids: &[i64], quota_mb: u32, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET quota_mb = $1, updated_at = $2 WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($3))")
            .bind(i64::from(quota_mb))
            .bind(at)
            .bind(serde_json::to_string(ids)?)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Moves the accounts `ids` into `department` (`None`: the top level).
pub async fn set_department(conn: &mut Conn, ids: &[i64], department: Option<i64>, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET department_id = $1, updated_at = $2 WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($3))")
            .bind(department)
            .bind(at)
            .bind(serde_json::to_string(ids)?)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Moves the accounts `ids` to the recycle bin, as `remove_account` does one by one: an
/// entry each (with the status to restore) and the account marked deleted.
pub async fn delete(conn: &mut Conn, ids: &[i64], at: &str, by: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        let ids = serde_json::to_string(ids)?;
        sqlx::query(
            "INSERT INTO recycle_bin (account_id, status_before, deleted_at, deleted_by)
             SELECT id, status, $1, $2 FROM accounts WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($3)) ORDER BY id",
        )
        .bind(at)
        .bind(by)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE accounts SET status = 'deleted', deleted_at = $1, updated_at = $1
             WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($2))",
        )
        .bind(at)
        .bind(&ids)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Undoes the account fields batch `batch` changed: each back to its recorded before-state.
pub async fn undo_fields(conn: &mut Conn, batch: u32, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        for (key, column, kind) in [("status", "status", "TEXT"), ("quota_mb", "quota_mb", "BIGINT")] {
            sqlx::query(&format!(
                "UPDATE accounts SET {column} = (SELECT CAST(json_extract(c.before, '$') AS {kind}) FROM batch_changes c
                 WHERE c.batch_id = $1 AND c.scope = 'account_field' AND c.key = $2 AND c.scope_id = accounts.id),
                 updated_at = $3
             WHERE id IN (SELECT scope_id FROM batch_changes
                 WHERE batch_id = $1 AND scope = 'account_field' AND key = $2)"
            ))
            .bind(i64::from(batch))
            .bind(key)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    })
}
