//! Monitoring and copy rules (`monitor_rules`).

use postdesk_contract::monitor::{MonitorAction, MonitorRule, MonitorTraffic};

use super::Conn;
use crate::error::Result;

type Row = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

fn rule(r: Row) -> MonitorRule {
    MonitorRule {
        id: r.0,
        domain: r.1,
        name: r.2,
        scope_department: r.3,
        scope_account: r.4,
        traffic: MonitorTraffic::parse(&r.5).unwrap_or_default(),
        sender: r.6,
        recipient: r.7,
        min_size_kb: r.8.and_then(|v| u32::try_from(v).ok()),
        keyword: r.9,
        except_sender: r.10,
        except_recipient: r.11,
        except_keyword: r.12,
        action: MonitorAction::parse(&r.13).unwrap_or_default(),
        target: r.14,
    }
}

const COLUMNS: &str = "SELECT r.id, d.name, r.name, r.scope_department, r.scope_account, r.traffic, r.sender,
    r.recipient, r.min_size_kb, r.keyword, r.except_sender, r.except_recipient, r.except_keyword, r.action, r.target
    FROM monitor_rules r JOIN domains d ON d.id = r.domain_id";

/// A page of a domain's rules by id, after `after`, at most `limit`.
pub async fn page(conn: &mut Conn, domain: i64, after: i64, limit: u32) -> Result<Vec<MonitorRule>> {
    super::on_db!(conn, conn => {
        let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE r.domain_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3"))
            .bind(domain)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(rule).collect())
    })
}

/// Every rule (the mail path's copy), by domain and id.
pub async fn all(conn: &mut Conn) -> Result<Vec<MonitorRule>> {
    super::on_db!(conn, conn => {
        let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} ORDER BY r.domain_id, r.id")).fetch_all(conn).await?;
        Ok(rows.into_iter().map(rule).collect())
    })
}

/// The rule `id` of the domain, if it has it.
pub async fn of(conn: &mut Conn, domain: i64, id: i64) -> Result<Option<MonitorRule>> {
    super::on_db!(conn, conn => {
        let row: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE r.domain_id = $1 AND r.id = $2"))
            .bind(domain)
            .bind(id)
            .fetch_optional(conn)
            .await?;
        Ok(row.map(rule))
    })
}

/// How many rules the domain has.
pub async fn count(conn: &mut Conn, domain: i64) -> Result<u32> {
    super::on_db!(conn, conn => {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monitor_rules WHERE domain_id = $1")
            .bind(domain)
            .fetch_one(conn)
            .await?;
        Ok(n.max(0) as u32)
    })
}

/// Stores a rule; its id.
pub async fn insert(conn: &mut Conn, domain: i64, r: &MonitorRule, now: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "INSERT INTO monitor_rules (domain_id, name, scope_department, scope_account, traffic, sender, recipient,
             min_size_kb, keyword, except_sender, except_recipient, except_keyword, action, target, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(domain)
        .bind(&r.name)
        .bind(&r.scope_department)
        .bind(&r.scope_account)
        .bind(r.traffic.name())
        .bind(&r.sender)
        .bind(&r.recipient)
        .bind(r.min_size_kb.map(i64::from))
        .bind(&r.keyword)
        .bind(&r.except_sender)
        .bind(&r.except_recipient)
        .bind(&r.except_keyword)
        .bind(r.action.name())
        .bind(&r.target)
        .bind(now)
        .fetch_one(conn)
        .await?)
    })
}

/// Removes a rule.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM monitor_rules WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}
