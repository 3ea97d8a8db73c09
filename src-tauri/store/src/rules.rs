//! Mail rules on the path: the SRS key of forwarding, automatic-BCC rules, disclaimer rules.

use postdesk_contract::rules::{BccRule, DisclaimerRule, DisclaimerScope, RuleDirection};

use super::Conn;
use crate::Result;

/// The SRS key, if one was made.
pub async fn srs_secret(conn: &mut Conn) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT secret FROM srs_secret WHERE id = 1").fetch_optional(conn).await?)
    })
}

/// Stores `secret` as the SRS key unless one exists; the one in force.
pub async fn keep_srs_secret(conn: &mut Conn, secret: &str, now: &str) -> Result<String> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO srs_secret (id, secret, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(secret)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(sqlx::query_scalar("SELECT secret FROM srs_secret WHERE id = 1").fetch_one(conn).await?)
    })
}

type BccRow = (i64, String, String, String, Option<String>, Option<String>, String);

fn bcc_rule(r: BccRow) -> BccRule {
    BccRule {
        id: r.0,
        domain: r.1,
        name: r.2,
        direction: RuleDirection::parse(&r.3).unwrap_or_default(),
        sender: r.4,
        recipient: r.5,
        copy_to: r.6,
    }
}

const BCC_COLUMNS: &str = "SELECT r.id, d.name, r.name, r.direction, r.sender, r.recipient, r.copy_to FROM bcc_rules r JOIN domains d ON d.id = r.domain_id";

/// A page of a domain's BCC rules by id, after `after`, at most `limit` rows.
pub async fn bcc_page(conn: &mut Conn, domain: i64, after: i64, limit: u32) -> Result<Vec<BccRule>> {
    super::on_db!(conn, conn => {
        let rows: Vec<BccRow> =
            sqlx::query_as(&format!("{BCC_COLUMNS} WHERE r.domain_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3"))
                .bind(domain)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await?;
        Ok(rows.into_iter().map(bcc_rule).collect())
    })
}

/// Every BCC rule (the mail services' copy), by id.
pub async fn all_bcc(conn: &mut Conn) -> Result<Vec<BccRule>> {
    super::on_db!(conn, conn => {
        let rows: Vec<BccRow> = sqlx::query_as(&format!("{BCC_COLUMNS} ORDER BY r.id")).fetch_all(conn).await?;
        Ok(rows.into_iter().map(bcc_rule).collect())
    })
}

/// One BCC rule of a domain.
pub async fn bcc_rule_of(conn: &mut Conn, domain: i64, id: i64) -> Result<Option<BccRule>> {
    super::on_db!(conn, conn => {
        let row: Option<BccRow> = sqlx::query_as(&format!("{BCC_COLUMNS} WHERE r.domain_id = $1 AND r.id = $2"))
            .bind(domain)
            .bind(id)
            .fetch_optional(conn)
            .await?;
        Ok(row.map(bcc_rule))
    })
}

/// How many BCC rules a domain has.
pub async fn count_bcc(conn: &mut Conn, domain: i64) -> Result<u32> {
    super::on_db!(conn, conn => {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM bcc_rules WHERE domain_id = $1").bind(domain).fetch_one(conn).await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    })
}

/// Stores a BCC rule; its id.
pub async fn insert_bcc(conn: &mut Conn, domain: i64, rule: &BccRule, now: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "INSERT INTO bcc_rules (domain_id, name, direction, sender, recipient, copy_to, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(domain)
        .bind(&rule.name)
        .bind(rule.direction.name())
        .bind(&rule.sender)
        .bind(&rule.recipient)
        .bind(&rule.copy_to)
        .bind(now)
        .fetch_one(conn)
        .await?)
    })
}

/// Removes a BCC rule.
pub async fn delete_bcc(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM bcc_rules WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// What an account sent outside on `day`: (messages, bytes).
pub async fn daily_sent(conn: &mut Conn, account: i64, day: &str) -> Result<(i64, i64)> {
    super::on_db!(conn, conn => {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT messages, bytes FROM daily_sends WHERE account_id = $1 AND day = $2")
                .bind(account)
                .bind(day)
                .fetch_optional(conn)
                .await?;
        Ok(row.unwrap_or((0, 0)))
    })
}

/// Counts one message of `bytes` sent outside on `day`, and forgets days before `oldest`.
pub async fn count_daily_send(conn: &mut Conn, account: i64, day: &str, bytes: i64, oldest: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO daily_sends (account_id, day, messages, bytes) VALUES ($1, $2, 1, $3)
             ON CONFLICT (account_id, day) DO UPDATE SET messages = daily_sends.messages + 1, bytes = daily_sends.bytes + excluded.bytes",
        )
        .bind(account)
        .bind(day)
        .bind(bytes)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM daily_sends WHERE account_id = $1 AND day < $2")
            .bind(account)
            .bind(oldest)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// A page of a domain's accounts (by address, after `after`) with what each sent outside:
/// (account id, address, messages on `day`, bytes on `day`, messages since `since`, bytes since `since`).
pub async fn usage_page(
    conn: &mut Conn,
    domain: i64,
    day: &str,
    since: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<(i64, String, i64, i64, i64, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT a.id, a.address,
                coalesce((SELECT messages FROM daily_sends WHERE account_id = a.id AND day = $1), 0),
                coalesce((SELECT bytes FROM daily_sends WHERE account_id = a.id AND day = $2), 0),
                coalesce((SELECT CAST(sum(messages) AS BIGINT) FROM daily_sends WHERE account_id = a.id AND day >= $3), 0),
                coalesce((SELECT CAST(sum(bytes) AS BIGINT) FROM daily_sends WHERE account_id = a.id AND day >= $4), 0)
         FROM accounts a WHERE a.domain_id = $5 AND a.status != 'deleted' AND a.address > $6 ORDER BY a.address LIMIT $7",
        )
        .bind(day)
        .bind(day)
        .bind(since)
        .bind(since)
        .bind(domain)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?)
    })
}

// ---- disclaimers ---------------------------------------------------------------------------

type DisclaimerRow = (
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

fn disclaimer_rule(r: DisclaimerRow) -> DisclaimerRule {
    DisclaimerRule {
        id: r.0,
        domain: r.1,
        position: r.2.max(0) as u32,
        name: r.3,
        scope: DisclaimerScope::parse(&r.4).unwrap_or_default(),
        sender: r.5,
        recipient: r.6,
        department: r.7,
        except_sender: r.8,
        except_recipient: r.9,
        except_department: r.10,
        text: r.11,
        html: r.12,
    }
}

const DISCLAIMER_COLUMNS: &str =
    "SELECT r.id, d.name, r.position, r.name, r.scope, r.sender, r.recipient, r.department,
    r.except_sender, r.except_recipient, r.except_department, r.text, r.html
    FROM disclaimer_rules r JOIN domains d ON d.id = r.domain_id";

/// A page of a domain's disclaimer rules in order, after position `after`, at most `limit`.
pub async fn disclaimer_page(conn: &mut Conn, domain: i64, after: i64, limit: u32) -> Result<Vec<DisclaimerRule>> {
    super::on_db!(conn, conn => {
        let rows: Vec<DisclaimerRow> = sqlx::query_as(&format!(
            "{DISCLAIMER_COLUMNS} WHERE r.domain_id = $1 AND r.position > $2 ORDER BY r.position, r.id LIMIT $3"
        ))
        .bind(domain)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().map(disclaimer_rule).collect())
    })
}

/// A domain's disclaimer rules in order.
pub async fn disclaimers_of(conn: &mut Conn, domain: i64) -> Result<Vec<DisclaimerRule>> {
    super::on_db!(conn, conn => {
        disclaimer_page(conn, domain, 0, u32::MAX).await
    })
}

/// Every disclaimer rule (the mail services' copy), by domain and position.
pub async fn all_disclaimers(conn: &mut Conn) -> Result<Vec<DisclaimerRule>> {
    super::on_db!(conn, conn => {
        let rows: Vec<DisclaimerRow> =
            sqlx::query_as(&format!("{DISCLAIMER_COLUMNS} ORDER BY r.domain_id, r.position, r.id")).fetch_all(conn).await?;
        Ok(rows.into_iter().map(disclaimer_rule).collect())
    })
}

/// Stores a disclaimer rule at `rule.position`; its id.
pub async fn insert_disclaimer(conn: &mut Conn, domain: i64, rule: &DisclaimerRule, now: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "INSERT INTO disclaimer_rules (domain_id, position, name, scope, sender, recipient, department,
             except_sender, except_recipient, except_department, text, html, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(domain)
        .bind(i64::from(rule.position))
        .bind(&rule.name)
        .bind(rule.scope.name())
        .bind(&rule.sender)
        .bind(&rule.recipient)
        .bind(&rule.department)
        .bind(&rule.except_sender)
        .bind(&rule.except_recipient)
        .bind(&rule.except_department)
        .bind(&rule.text)
        .bind(&rule.html)
        .bind(now)
        .fetch_one(conn)
        .await?)
    })
}

/// Sets a disclaimer rule's position.
pub async fn set_disclaimer_position(conn: &mut Conn, id: i64, position: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE disclaimer_rules SET position = $1 WHERE id = $2").bind(i64::from(position)).bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Removes a disclaimer rule.
pub async fn delete_disclaimer(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM disclaimer_rules WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Gives the row just inserted as `new` the id `old` of the row it replaces (that row is
/// deleted), so a rule changed in place keeps its id. `table` is one of the rule tables.
pub async fn replace_id(conn: &mut Conn, table: &'static str, new: i64, old: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        debug_assert!(["bcc_rules", "disclaimer_rules", "monitor_rules"].contains(&table));
        sqlx::query(&format!("DELETE FROM {table} WHERE id = $1")).bind(old).execute(&mut *conn).await?;
        sqlx::query(&format!("UPDATE {table} SET id = $1 WHERE id = $2")).bind(old).bind(new).execute(conn).await?;
        Ok(())
    })
}
