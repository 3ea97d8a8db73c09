//! Users' own forwarding (`account_forwards`).

use super::Conn;
use crate::Result;
use postdesk_contract::forwarding::Forwarding;

/// The forwarding of account `account_id`: targets and whether it keeps a copy.
pub async fn get(conn: &mut Conn, account_id: i64) -> Result<Option<(Vec<String>, bool)>> {
    super::on_db!(conn, conn => {
        let row: Option<(String, bool)> =
            sqlx::query_as("SELECT targets, keep_copy FROM account_forwards WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(conn)
                .await?;
        Ok(match row {
            Some((targets, keep)) => Some((serde_json::from_str(&targets)?, keep)),
            None => None,
        })
    })
}

/// Sets (targets given) or removes (none) the forwarding of account `account_id`.
pub async fn set(conn: &mut Conn, account_id: i64, targets: &[String], keep_copy: bool, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        if targets.is_empty() {
            sqlx::query("DELETE FROM account_forwards WHERE account_id = $1").bind(account_id).execute(conn).await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO account_forwards (account_id, targets, keep_copy, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id) DO UPDATE SET targets = excluded.targets, keep_copy = excluded.keep_copy,
         updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(serde_json::to_string(targets)?)
        .bind(keep_copy)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Every account's forwarding, by the account's own address (accounts that receive mail).
pub async fn all(conn: &mut Conn) -> Result<Vec<Forwarding>> {
    super::on_db!(conn, conn => {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT a.address, f.targets, f.keep_copy FROM account_forwards f JOIN accounts a ON a.id = f.account_id
             WHERE a.status IN ('active', 'locked') ORDER BY a.address",
        )
        .fetch_all(conn)
        .await?;
        rows.into_iter()
            .map(|(address, targets, keep_copy)| {
                Ok(Forwarding { address, targets: serde_json::from_str(&targets)?, keep_copy })
            })
            .collect()
    })
}
