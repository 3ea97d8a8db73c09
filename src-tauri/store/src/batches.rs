//! Batches: the accounts a target covers, the batch ledger (`batches` and the exact
//! before/after of each override in `batch_changes`), and the batch actions that write
//! accounts (password resets, clearing security questions).

use super::Conn;
use crate::Result;
use postdesk_contract::settings::{Batch, UndoState};

/// The domain's account count (as kept on the domain row).
pub async fn domain_account_count(conn: &mut Conn, domain: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT account_count FROM domains WHERE id = $1").bind(domain).fetch_one(conn).await?)
    })
}

/// How many accounts (not deleted) `departments` hold.
pub async fn department_account_count(conn: &mut Conn, departments: &[i64]) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM accounts
                     WHERE department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) AND status <> 'deleted'",
        )
        .bind(serde_json::to_string(departments)?)
        .fetch_one(conn)
        .await?)
    })
}

/// The accounts of the domain at `addresses` (any status): `(id, address, status)`.
pub async fn accounts_at(conn: &mut Conn, domain: i64, addresses: &[&str]) -> Result<Vec<(i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT id, address, status FROM accounts WHERE domain_id = $1 AND address IN (SELECT value FROM json_each($2))",
        )
        .bind(domain)
        .bind(serde_json::to_string(addresses)?)
        .fetch_all(conn)
        .await?)
    })
}

/// The accounts (not deleted) of `departments`, by address: `(id, address, status)`.
pub async fn department_accounts(conn: &mut Conn, departments: &[i64]) -> Result<Vec<(i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT id, address, status FROM accounts
                     WHERE department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) AND status <> 'deleted' ORDER BY address",
        )
        .bind(serde_json::to_string(departments)?)
        .fetch_all(conn)
        .await?)
    })
}

/// A batch row to insert.
pub struct NewBatch<'a> {
    pub domain_id: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub accounts: u32,
    pub changes: u32,
    pub summary: &'a str,
    pub not_undoable: Option<&'a str>,
}

/// Inserts a batch row; returns its id.
pub async fn insert(conn: &mut Conn, b: NewBatch<'_>) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO batches (domain_id, at, actor, action, target, accounts, changes, summary, not_undoable)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(b.domain_id)
        .bind(b.at)
        .bind(b.actor)
        .bind(b.action)
        .bind(b.target)
        .bind(i64::from(b.accounts))
        .bind(i64::from(b.changes))
        .bind(b.summary)
        .bind(b.not_undoable)
        .fetch_one(conn)
        .await?)
    })
}

/// One override a batch changed, as recorded.
pub struct NewChange<'a> {
    pub batch: u32,
    pub scope: &'a str,
    pub scope_id: i64,
    pub key: &'a str,
    pub label: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// Records one override a batch changed.
pub async fn insert_change(conn: &mut Conn, c: NewChange<'_>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO batch_changes (batch_id, scope, scope_id, key, label, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(i64::from(c.batch))
        .bind(c.scope)
        .bind(c.scope_id)
        .bind(c.key)
        .bind(c.label)
        .bind(c.before)
        .bind(c.after)
        .execute(conn)
        .await?;
        Ok(())
    })
}

const SELECT_BATCH: &str = "SELECT b.id, b.at, b.actor, d.name AS domain, b.action, b.target, b.accounts, b.changes,
        b.summary, b.not_undoable, b.undone_at, b.undone_by
    FROM batches b JOIN domains d ON d.id = b.domain_id";

fn batch_from_row(r: impl super::DbRow) -> Batch {
    let not_undoable: Option<String> = r.get("not_undoable");
    let undone_at: Option<String> = r.get("undone_at");
    let undone_by: Option<String> = r.get("undone_by");
    let (undo, note) = match (undone_at, not_undoable) {
        (Some(at), _) => (UndoState::Undone, Some(format!("undone by {} at {at}", undone_by.unwrap_or_default()))),
        (None, Some(why)) => (UndoState::NotUndoable, Some(why)),
        (None, None) => (UndoState::Available, None),
    };
    Batch {
        id: r.get::<i64, _>("id") as u32,
        at: r.get("at"),
        actor: r.get("actor"),
        domain: r.get("domain"),
        action: r.get("action"),
        target: r.get("target"),
        accounts: r.get::<i64, _>("accounts") as u32,
        changes: r.get::<i64, _>("changes") as u32,
        summary: r.get("summary"),
        undo,
        note,
    }
}

/// The domain's latest `limit` batches, newest first.
pub async fn list(conn: &mut Conn, domain: i64, before: Option<i64>, limit: u32) -> Result<Vec<Batch>> {
    super::on_db!(conn, conn => {
        // Keyset paging, newest first (ids grow with time): the same cost at any depth.
        let rows = sqlx::query(&format!(
            "{SELECT_BATCH} WHERE b.domain_id = $1 AND ($2 IS NULL OR b.id < $2) ORDER BY b.id DESC LIMIT $3"
        ))
        .bind(domain)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().map(batch_from_row).collect())
    })
}

/// The batch `id` of the domain, if any.
pub async fn get(conn: &mut Conn, id: u32, domain: i64) -> Result<Option<Batch>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(&format!("{SELECT_BATCH} WHERE b.id = $1 AND b.domain_id = $2"))
            .bind(i64::from(id))
            .bind(domain)
            .fetch_optional(conn)
            .await?
            .map(batch_from_row))
    })
}

/// One override a batch changed, with what the level holds now.
#[derive(sqlx::FromRow)]
pub struct RecordedChange {
    /// `domain`, `department` or `account`.
    pub scope: String,
    pub scope_id: i64,
    pub key: String,
    pub label: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The value now (`None`: not overridden).
    pub current: Option<String>,
    /// Whether the level still exists.
    pub present: bool,
}

/// The overrides batch `batch` changed, each with its level's value now.
pub async fn changes(conn: &mut Conn, batch: u32) -> Result<Vec<RecordedChange>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            // Account fields (bulk account actions) are read from the account row itself.
            "SELECT c.scope, c.scope_id, c.key, c.label, c.before, c.after,
            CASE WHEN c.scope = 'account_field' THEN (SELECT CASE c.key
                    WHEN 'status' THEN json_quote(a.status) WHEN 'quota_mb' THEN json_quote(a.quota_mb) END
                 FROM accounts a WHERE a.id = c.scope_id)
            ELSE o.value END AS current,
            CASE c.scope
                WHEN 'domain' THEN TRUE
                WHEN 'department' THEN EXISTS (SELECT 1 FROM departments WHERE id = c.scope_id)
                ELSE EXISTS (SELECT 1 FROM accounts WHERE id = c.scope_id) END AS present
         FROM batch_changes c
         LEFT JOIN setting_overrides o ON o.scope = c.scope AND o.scope_id = c.scope_id AND o.key = c.key
         WHERE c.batch_id = $1",
        )
        .bind(i64::from(batch))
        .fetch_all(conn)
        .await?)
    })
}

/// Marks batch `id` undone `at` by `by`.
pub async fn mark_undone(conn: &mut Conn, id: u32, at: &str, by: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE batches SET undone_at = $1, undone_by = $2 WHERE id = $3")
            .bind(at)
            .bind(by)
            .bind(i64::from(id))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Of the accounts `ids`, those in the domain and not deleted: `(id, address, status)`.
pub async fn live_accounts(conn: &mut Conn, ids: &[i64], domain: i64) -> Result<Vec<(i64, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (i64, String, String)>(
            "SELECT id, address, status FROM accounts
                 WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) AND domain_id = $2 AND status <> 'deleted'",
        )
        .bind(serde_json::to_string(ids)?)
        .bind(domain)
        .fetch_all(conn)
        .await?)
    })
}

/// Clears the security questions of the accounts `ids` (the stored questions and answers
/// deleted); returns the addresses of those that had them set.
pub async fn clear_security_questions(conn: &mut Conn, at: &str, ids: &[i64]) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM security_questions WHERE account_id IN (SELECT CAST(value AS BIGINT) FROM json_each($1))")
            .bind(serde_json::to_string(ids)?)
            .execute(&mut *conn)
            .await?;
        Ok(sqlx::query_scalar(
            "UPDATE accounts SET security_questions_set = FALSE, updated_at = $1
             WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each($2)) AND security_questions_set = TRUE RETURNING address",
        )
        .bind(at)
        .bind(serde_json::to_string(ids)?)
        .fetch_all(conn)
        .await?)
    })
}
