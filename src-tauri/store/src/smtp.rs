//! The SMTP service's server-wide settings (one row, with its change version) and the
//! black/white list rules.

use sqlx::Row;

use super::{Conn, Pool};
use crate::error::{Error, Result};
use postdesk_contract::smtp::{SmtpRule, SmtpRuleAction, SmtpRuleKind, SmtpSettings};

/// The stored version, for the watch channel's first value.
pub async fn stored_version(pool: &Pool) -> Result<u64> {
    let v: i64 = super::on_pool!(pool, p => sqlx::query_scalar("SELECT version FROM smtp_settings WHERE id = 1").fetch_one(p).await)?;
    Ok(v as u64)
}

/// The settings (the defaults when none are stored) and the stored version.
pub async fn load_settings(conn: &mut Conn) -> Result<(SmtpSettings, u64)> {
    super::on_db!(conn, conn => {
        let row = sqlx::query("SELECT settings, version FROM smtp_settings WHERE id = 1").fetch_one(conn).await?;
        let settings = match row.get::<Option<String>, _>("settings") {
            None => SmtpSettings::default(),
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Error::internal(format!("stored SMTP settings cannot be read: {e}")))?,
        };
        Ok((settings, row.get::<i64, _>("version") as u64))
    })
}

/// Stores the settings.
pub async fn store_settings(conn: &mut Conn, settings: &SmtpSettings) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE smtp_settings SET settings = $1 WHERE id = 1")
            .bind(serde_json::to_string(settings)?)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Bumps the stored version; returns the new one.
pub async fn bump_version(conn: &mut Conn) -> Result<u64> {
    let v: i64 = super::on_db!(conn, conn => {
        sqlx::query_scalar("UPDATE smtp_settings SET version = version + 1 WHERE id = 1 RETURNING version")
            .fetch_one(conn)
            .await?
    });
    // The other nodes hear of it when this transaction commits (PostgreSQL), even when the
    // process that made the change exits right after (a `postdesk smtp …` command).
    super::notify::on_commit(conn, super::notify::SMTP, &v.to_string()).await?;
    Ok(v as u64)
}

const RULE_COLUMNS: &str = "id, name, kind, value, action, position, note, created_at";

fn rule_from_row(r: &impl super::DbRow) -> Result<SmtpRule> {
    let kind: String = r.get("kind");
    let action: String = r.get("action");
    Ok(SmtpRule {
        id: r.get::<i64, _>("id") as u32,
        name: r.get("name"),
        kind: SmtpRuleKind::parse(&kind).ok_or_else(|| Error::internal(format!("stored rule kind '{kind}'")))?,
        value: r.get("value"),
        action: SmtpRuleAction::parse(&action)
            .ok_or_else(|| Error::internal(format!("stored rule action '{action}'")))?,
        position: r.get::<i64, _>("position") as u32,
        note: r.get("note"),
        created_at: r.get("created_at"),
    })
}

/// Every rule, in order.
pub async fn load_rules(conn: &mut Conn) -> Result<Vec<SmtpRule>> {
    super::on_db!(conn, conn => {
        let rows =
            sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM smtp_rules ORDER BY position, id")).fetch_all(conn).await?;
        rows.iter().map(rule_from_row).collect()
    })
}

/// At most `limit` rules after the rule at (`position`, `id`) `after`, in order. Keyset
/// paging: the same cost at any depth.
pub async fn rules_page(conn: &mut Conn, after: Option<(i64, i64)>, limit: u32) -> Result<Vec<SmtpRule>> {
    super::on_db!(conn, conn => {
        let rows = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM smtp_rules WHERE $1 IS NULL OR (position, id) > ($1, $2)
             ORDER BY position, id LIMIT $3"
        ))
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        rows.iter().map(rule_from_row).collect()
    })
}

/// The rule `id`, if any.
pub async fn load_rule(conn: &mut Conn, id: u32) -> Result<Option<SmtpRule>> {
    super::on_db!(conn, conn => {
        sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM smtp_rules WHERE id = $1"))
            .bind(i64::from(id))
            .fetch_optional(conn)
            .await?
            .map(|row| rule_from_row(&row))
            .transpose()
    })
}

/// The name of another rule (not `except`) named `name`, case-insensitively.
pub async fn name_taken(conn: &mut Conn, name: &str, except: Option<u32>) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT name FROM smtp_rules WHERE lower(name) = lower($1) AND id IS DISTINCT FROM $2")
            .bind(name)
            .bind(except.map(i64::from))
            .fetch_optional(conn)
            .await?)
    })
}

/// The name of another rule (not `except`) matching the same kind and value.
pub async fn same_match(
    conn: &mut Conn,
    kind: SmtpRuleKind,
    value: &str,
    except: Option<u32>,
) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT name FROM smtp_rules WHERE kind = $1 AND value = $2 AND id IS DISTINCT FROM $3")
            .bind(kind.as_str())
            .bind(value)
            .bind(except.map(i64::from))
            .fetch_optional(conn)
            .await?)
    })
}

/// How many rules there are.
pub async fn rule_count(conn: &mut Conn) -> Result<u32> {
    super::on_db!(conn, conn => {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM smtp_rules").fetch_one(conn).await?;
        Ok(n as u32)
    })
}

/// Moves the rules at `position` and after one place down (to make room).
pub async fn shift_down_from(conn: &mut Conn, position: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE smtp_rules SET position = position + 1 WHERE position >= $1")
            .bind(i64::from(position))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// A rule to insert.
pub struct NewRule<'a> {
    pub name: &'a str,
    pub kind: SmtpRuleKind,
    pub value: &'a str,
    pub action: SmtpRuleAction,
    pub position: u32,
    pub note: &'a str,
    pub created_at: &'a str,
}

/// Inserts a rule; returns its id.
pub async fn insert_rule(conn: &mut Conn, r: NewRule<'_>) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "INSERT INTO smtp_rules (name, kind, value, action, position, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id",
        )
        .bind(r.name)
        .bind(r.kind.as_str())
        .bind(r.value)
        .bind(r.action.as_str())
        .bind(i64::from(r.position))
        .bind(r.note)
        .bind(r.created_at)
        .fetch_one(conn)
        .await?)
    })
}

/// Inserts a rule (from an import file), without reading its id back.
pub async fn insert_imported_rule(conn: &mut Conn, r: NewRule<'_>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO smtp_rules (name, kind, value, action, position, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.name)
        .bind(r.kind.as_str())
        .bind(r.value)
        .bind(r.action.as_str())
        .bind(i64::from(r.position))
        .bind(r.note)
        .bind(r.created_at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Sets a rule's name, kind, value, action and note.
pub async fn update_rule(
    conn: &mut Conn,
    id: u32,
    name: &str,
    kind: SmtpRuleKind,
    value: &str,
    action: SmtpRuleAction,
    note: &str,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE smtp_rules SET name = $1, kind = $2, value = $3, action = $4, note = $5 WHERE id = $6")
            .bind(name)
            .bind(kind.as_str())
            .bind(value)
            .bind(action.as_str())
            .bind(note)
            .bind(i64::from(id))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Deletes the rule `id` and closes the gap it leaves at `position`.
pub async fn delete_rule(conn: &mut Conn, id: u32, position: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM smtp_rules WHERE id = $1").bind(i64::from(id)).execute(&mut *conn).await?;
        sqlx::query("UPDATE smtp_rules SET position = position - 1 WHERE position > $1")
            .bind(i64::from(position))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Moves the rule `id` from position `from` to `to`, shifting the rules in between.
pub async fn move_rule(conn: &mut Conn, id: u32, from: u32, to: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        if to < from {
            sqlx::query("UPDATE smtp_rules SET position = position + 1 WHERE position >= $1 AND position < $2")
                .bind(i64::from(to))
                .bind(i64::from(from))
                .execute(&mut *conn)
                .await?;
        } else if to > from {
            sqlx::query("UPDATE smtp_rules SET position = position - 1 WHERE position > $1 AND position <= $2")
                .bind(i64::from(from))
                .bind(i64::from(to))
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("UPDATE smtp_rules SET position = $1 WHERE id = $2").bind(i64::from(to)).bind(i64::from(id)).execute(conn).await?;
        Ok(())
    })
}

/// Deletes every rule; returns how many there were.
pub async fn delete_all_rules(conn: &mut Conn) -> Result<u32> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query("DELETE FROM smtp_rules").execute(conn).await?.rows_affected() as u32)
    })
}
