//! The audit log: inserting an entry, counting and listing entries.

use sqlx::Row;

use super::Conn;
use crate::Result;
use crate::model::AuditEntry;

/// One entry to insert (`before`/`after` already serialised).
pub struct Entry<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub domain: Option<&'a str>,
    pub target: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Inserts one audit entry.
pub async fn insert(conn: &mut Conn, e: Entry<'_>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, domain, target, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.domain)
        .bind(e.target)
        .bind(e.before)
        .bind(e.after)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Which entries a listing shows; `None` matches everything.
pub struct Filter<'a> {
    pub domain: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    /// A JSON array of the domains the caller may see.
    pub scope: Option<&'a str>,
}

const FILTER: &str = "($1 IS NULL OR domain = $1) AND ($2 IS NULL OR actor = $2) AND ($3 IS NULL OR action = $3)
        AND ($4 IS NULL OR domain IN (SELECT value FROM json_each($4)))";

/// The id of the newest audit entry committed (0 when none): every change to the organisation
/// writes one in its own transaction, so this moves with every committed change, made by this
/// process or any other on the same database.
pub async fn last_id(conn: &mut Conn) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM audit_log").fetch_one(conn).await?)
    })
}

/// How many entries match `f`.
pub async fn count(conn: &mut Conn, f: &Filter<'_>) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM audit_log WHERE {FILTER}"))
            .bind(f.domain)
            .bind(f.actor)
            .bind(f.action)
            .bind(f.scope)
            .fetch_one(conn)
            .await?)
    })
}

/// The entries matching `f`, newest first, from `offset`.
pub async fn page(conn: &mut Conn, f: &Filter<'_>, limit: u32, offset: u32) -> Result<Vec<AuditEntry>> {
    super::on_db!(conn, conn => {
        let rows = sqlx::query(&format!(
            "SELECT id, at, actor, action, domain, target, before, after FROM audit_log WHERE {FILTER}
             ORDER BY id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(f.domain)
        .bind(f.actor)
        .bind(f.action)
        .bind(f.scope)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(conn)
        .await?;
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.get::<i64, _>("id") as u32,
                at: r.get("at"),
                actor: r.get("actor"),
                action: r.get("action"),
                domain: r.get("domain"),
                target: r.get("target"),
                before: parse(r.get("before")),
                after: parse(r.get("after")),
            })
            .collect())
    })
}
