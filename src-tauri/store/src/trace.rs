//! The message trace: messages, their addresses, their steps; search, retention.

use super::Conn;
use crate::Result;

/// A message row of the trace.
#[derive(Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub at: i64,
    pub client: String,
    pub account: Option<String>,
    pub sender: String,
    pub recipients: String,
    pub size: Option<i64>,
    pub message_id: Option<String>,
    pub outcome: String,
}

/// A step row of the trace.
#[derive(Debug, sqlx::FromRow)]
pub struct StepRow {
    pub at: i64,
    pub stage: String,
    pub recipient: Option<String>,
    pub rule: Option<String>,
    pub detail: String,
}

/// What a new message row holds.
pub struct NewMessage<'a> {
    pub key: &'a str,
    pub at: i64,
    pub client: &'a str,
    pub account: Option<&'a str>,
    pub sender: &'a str,
    pub recipients: &'a [String],
    pub size: Option<i64>,
    pub message_id: Option<&'a str>,
}

/// Inserts a message and its addresses (sender and recipients, canonical lower case);
/// `None` when its key is traced already.
pub async fn insert_message(conn: &mut Conn, m: &NewMessage<'_>) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO trace_messages (key, at, client, account, sender, recipients, size, message_id, outcome, stages)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'accepted', 0)
         ON CONFLICT (key) DO NOTHING RETURNING id",
        )
        .bind(m.key)
        .bind(m.at)
        .bind(m.client)
        .bind(m.account)
        .bind(m.sender)
        .bind(m.recipients.join("\n"))
        .bind(m.size)
        .bind(m.message_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(id) = id else { return Ok(None) };
        let mut addresses: Vec<String> = std::iter::once(m.sender)
            .chain(m.recipients.iter().map(String::as_str))
            .filter(|a| !a.is_empty())
            .map(str::to_lowercase)
            .collect();
        addresses.sort_unstable();
        addresses.dedup();
        for address in &addresses {
            let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
            sqlx::query("INSERT INTO trace_addresses (message, address, domain, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(address)
                .bind(domain)
                .bind(m.at)
                .execute(&mut *conn)
                .await?;
        }
        Ok(Some(id))
    })
}

/// A step to add.
pub struct NewStep<'a> {
    pub message: i64,
    pub at: i64,
    pub stage: &'a str,
    /// The stage's bit in `trace_messages.stages`.
    pub bit: i64,
    pub recipient: Option<&'a str>,
    pub rule: Option<&'a str>,
    pub detail: &'a str,
}

/// Adds a step to its message and makes it the message's latest outcome.
pub async fn insert_step(conn: &mut Conn, s: &NewStep<'_>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO trace_steps (message, at, stage, recipient, rule, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(s.message)
            .bind(s.at)
            .bind(s.stage)
            .bind(s.recipient)
            .bind(s.rule)
            .bind(s.detail)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE trace_messages SET outcome = $1, stages = stages | $2 WHERE id = $3")
            .bind(s.stage)
            .bind(s.bit)
            .bind(s.message)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Adds an outbound result of queue recipient `recipient_id` as a step of the traced
/// message it belongs to (none when that message is not traced: a DSN of our own).
pub async fn insert_outbound_step(
    conn: &mut Conn,
    recipient_id: i64,
    at: i64,
    stage: &str,
    bit: i64,
    detail: &str,
) -> Result<()> {
    super::on_db!(conn, conn => {
        let message: Option<i64> = sqlx::query_scalar(
            "INSERT INTO trace_steps (message, at, stage, recipient, detail)
         SELECT t.id, $1, $2, r.address, $3 FROM outbound_recipients r
         JOIN outbound_messages m ON m.id = r.message_id JOIN trace_messages t ON t.key = m.key
         WHERE r.id = $4 RETURNING message",
        )
        .bind(at)
        .bind(stage)
        .bind(detail)
        .bind(recipient_id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = message {
            sqlx::query("UPDATE trace_messages SET outcome = $1, stages = stages | $2 WHERE id = $3")
                .bind(stage)
                .bind(bit)
                .bind(id)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
}

/// What a search asks for.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub address: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub message_id: Option<&'a str>,
    /// Only messages with this step's bit set.
    pub stage_bit: Option<i64>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only messages before this (at, id), newest first.
    pub before: Option<(i64, i64)>,
    /// Only messages with an address in one of these domains (a JSON array).
    pub scope: Option<&'a str>,
}

const COLUMNS: &str = "m.id, m.at, m.client, m.account, m.sender, m.recipients, m.size, m.message_id, m.outcome";

/// The conditions every search shares (on `m`, with `?1`…`?6` bound as in [`page`]).
const COMMON: &str = "($1 IS NULL OR m.stages & $1 != 0)
     AND ($2 IS NULL OR m.message_id = $2)
     AND ($3 IS NULL OR EXISTS (SELECT 1 FROM trace_addresses s
                                WHERE s.message = m.id AND s.domain IN (SELECT value FROM json_each($3))))";

/// One page of messages, newest first (`limit` rows at most; a message with several
/// addresses at the filter's domain comes once per address, next to each other: the
/// caller drops the repeats). The search is driven by the most selective index
/// the filter allows: an address or a domain walks `trace_addresses` over its time range,
/// a Message-ID its own index, otherwise the messages by time.
pub async fn page(conn: &mut Conn, f: &Filter<'_>, limit: i64) -> Result<Vec<MessageRow>> {
    super::on_db!(conn, conn => {
        let (since, until) = (f.since.unwrap_or(i64::MIN), f.until.unwrap_or(i64::MAX));
        let (before_at, before_id) = f.before.unwrap_or((i64::MAX, i64::MAX));
        let (sql, key) = if let Some(address) = f.address {
            (
                format!(
                    "SELECT {COLUMNS} FROM trace_addresses a JOIN trace_messages m ON m.id = a.message
                 WHERE a.address = $4 AND a.at >= $5 AND a.at < $6 AND (a.at, a.message) < ($7, $8)
                   AND ($9 IS NULL OR EXISTS (SELECT 1 FROM trace_addresses d WHERE d.message = m.id AND d.domain = $9))
                   AND {COMMON}
                 ORDER BY a.at DESC, a.message DESC LIMIT $10"
                ),
                Some(address.to_string()),
            )
        } else if let Some(domain) = f.domain {
            (
                format!(
                    "SELECT {COLUMNS} FROM trace_addresses a JOIN trace_messages m ON m.id = a.message
                 WHERE a.domain = $4 AND a.at >= $5 AND a.at < $6 AND (a.at, a.message) < ($7, $8)
                   AND {COMMON}
                 ORDER BY a.at DESC, a.message DESC LIMIT $10"
                ),
                Some(domain.to_string()),
            )
        } else {
            let driver = if f.message_id.is_some() { "m.message_id = $2" } else { "$4 IS NULL" };
            (
                format!(
                    "SELECT {COLUMNS} FROM trace_messages m
                 WHERE {driver} AND m.at >= $5 AND m.at < $6 AND (m.at, m.id) < ($7, $8)
                   AND {COMMON}
                 ORDER BY m.at DESC, m.id DESC LIMIT $10"
                ),
                None,
            )
        };
        // With an address, a domain filter narrows further (?9).
        let domain_too = f.address.and(f.domain);
        Ok(sqlx::query_as(&sql)
            .bind(f.stage_bit)
            .bind(f.message_id)
            .bind(f.scope)
            .bind(key)
            .bind(since)
            .bind(until)
            .bind(before_at)
            .bind(before_id)
            .bind(domain_too)
            .bind(limit)
            .fetch_all(conn)
            .await?)
    })
}

/// One message, if it exists (and, with `scope`, has an address in one of those domains).
pub async fn message(conn: &mut Conn, id: i64, scope: Option<&str>) -> Result<Option<MessageRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM trace_messages m WHERE m.id = $4 AND {COMMON}"))
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(scope)
            .bind(id)
            .fetch_optional(conn)
            .await?)
    })
}

/// A message's steps, oldest first.
pub async fn steps(conn: &mut Conn, id: i64) -> Result<Vec<StepRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT at, stage, recipient, rule, detail FROM trace_steps WHERE message = $1 ORDER BY id")
            .bind(id)
            .fetch_all(conn)
            .await?)
    })
}

/// The retention in days.
pub async fn retention_days(conn: &mut Conn) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT retention_days FROM trace_settings WHERE id = 1")
            .fetch_optional(conn)
            .await?
            .unwrap_or(i64::from(postdesk_contract::trace::DEFAULT_TRACE_RETENTION_DAYS)))
    })
}

/// Sets the retention in days.
pub async fn set_retention_days(conn: &mut Conn, days: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO trace_settings (id, retention_days) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET retention_days = excluded.retention_days",
        )
        .bind(days)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Removes up to `limit` of the oldest messages seen before `before` (their addresses and
/// steps with them); how many went.
pub async fn purge(conn: &mut Conn, before: i64, limit: i64) -> Result<u64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(
            "DELETE FROM trace_messages WHERE id IN
                 (SELECT id FROM trace_messages WHERE at < $1 ORDER BY at, id LIMIT $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(conn)
        .await?
        .rows_affected())
    })
}
