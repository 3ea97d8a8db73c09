//! The outbound queue: `outbound_messages` (one per handed-over message, with its lease),
//! `outbound_recipients` (status, attempts, next attempt, last reply) and
//! `outbound_transports`; and the active DKIM key a sender domain signs with.

use super::Conn;
use crate::Result;
use postdesk_contract::outbound::{
    KeptStsPolicy, OutboundEnvelope, OutboundRecipient, OutboundTransport, RecipientResult,
};
use postdesk_contract::smtp::OutboundDestination;

/// Queues the outbound part of a message in the caller's write transaction: its bytes are
/// `body` in the row, else the blob named `blob_hash` (written already). A key queued
/// before adds nothing.
pub async fn enqueue(
    conn: &mut Conn,
    key: &str,
    blob_hash: &str,
    body: Option<&[u8]>,
    envelope: &OutboundEnvelope,
    size: usize,
    now: i64,
) -> Result<()> {
    super::on_db!(conn, conn => {
        if envelope.recipients.is_empty() {
            return Ok(());
        }
        let Some(id) = insert_message(&mut *conn, key, blob_hash, body, &envelope.sender, size as i64, now).await? else {
            return Ok(());
        };
        for rcpt in &envelope.recipients {
            insert_recipient(&mut *conn, id, rcpt, now).await?;
        }
        Ok(())
    })
}

/// Inserts a message unless its key is queued already; its id, or `None` for a known key.
pub async fn insert_message(
    conn: &mut Conn,
    key: &str,
    blob_hash: &str,
    body: Option<&[u8]>,
    sender: &str,
    size: i64,
    now: i64,
) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "INSERT INTO outbound_messages (key, blob_hash, body, sender, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key) DO NOTHING RETURNING id",
        )
        .bind(key)
        .bind(blob_hash)
        .bind(body)
        .bind(sender)
        .bind(size)
        .bind(now)
        .fetch_optional(conn)
        .await?)
    })
}

/// Adds a recipient (due at once); a repeated address is ignored.
pub async fn insert_recipient(conn: &mut Conn, message_id: i64, address: &str, now: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        sqlx::query(
            "INSERT INTO outbound_recipients (message_id, address, domain, next_attempt_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(message_id)
        .bind(address)
        .bind(domain)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Leases up to `limit` messages with a due recipient and no live lease to `owner`;
/// returns their ids. Run in a write transaction: the single writer makes it atomic.
pub async fn claim(conn: &mut Conn, owner: &str, now: i64, until: i64, limit: i64) -> Result<Vec<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "UPDATE outbound_messages SET lease_owner = $1, lease_until = $2
         WHERE id IN (
             SELECT DISTINCT r.message_id FROM outbound_recipients r
             JOIN outbound_messages m ON m.id = r.message_id
             WHERE r.status IN ('queued', 'deferred') AND r.next_attempt_at <= $3
               AND (m.lease_until IS NULL OR m.lease_until <= $4)
             ORDER BY r.message_id LIMIT $5)
         RETURNING id",
        )
        .bind(owner)
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?)
    })
}

/// A queued message: key, blob, its bytes when kept in the row, sender, created.
pub type QueuedRow = (String, String, Option<Vec<u8>>, String, i64);

/// A queued message: see [`QueuedRow`].
pub async fn message(conn: &mut Conn, id: i64) -> Result<Option<QueuedRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT key, blob_hash, body, sender, created_at FROM outbound_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?)
    })
}

/// The recipients of a message due at `now`.
pub async fn due_recipients(conn: &mut Conn, id: i64, now: i64) -> Result<Vec<OutboundRecipient>> {
    super::on_db!(conn, conn => {
        let rows: Vec<(i64, String, i64, bool, bool)> = sqlx::query_as(
            "SELECT id, address, attempts, delay_notified, bounce_now FROM outbound_recipients
             WHERE message_id = $1 AND status IN ('queued', 'deferred') AND next_attempt_at <= $2 ORDER BY id",
        )
        .bind(id)
        .bind(now)
        .fetch_all(conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, address, attempts, delay_notified, bounce_now)| OutboundRecipient {
                id,
                address,
                attempts: attempts as u32,
                delay_notified,
                bounce_now,
            })
            .collect())
    })
}

/// Records one attempt's result for a recipient of message `message_id` that is not final.
pub async fn record_result(conn: &mut Conn, message_id: i64, now: i64, r: &RecipientResult) -> Result<bool> {
    super::on_db!(conn, conn => {
        let done = sqlx::query(
            "UPDATE outbound_recipients SET status = $1, attempts = attempts + 1, last_attempt_at = $2, last_reply = $3,
             next_attempt_at = coalesce($4, next_attempt_at), delay_notified = delay_notified OR $5
         WHERE id = $6 AND message_id = $7 AND status IN ('queued', 'deferred')",
        )
        .bind(r.status.name())
        .bind(now)
        .bind(&r.reply)
        .bind(r.next_attempt)
        .bind(r.delay_notified)
        .bind(r.id)
        .bind(message_id)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() > 0)
    })
}

/// Gives up `owner`'s lease on a message (another owner's lease is left alone).
pub async fn release(conn: &mut Conn, id: i64, owner: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE outbound_messages SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2")
            .bind(id)
            .bind(owner)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Gives up every lease whose owner is `node:…`; how many.
pub async fn release_node(conn: &mut Conn, node: &str) -> Result<u64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(
            "UPDATE outbound_messages SET lease_owner = NULL, lease_until = NULL
             WHERE substr(lease_owner, 1, length($1) + 1) = $1 || ':'",
        )
        .bind(node)
        .execute(conn)
        .await?
        .rows_affected())
    })
}

/// Removes messages queued before `before` whose recipients are all final; returns their
/// blob names (to collect).
pub async fn remove_finished(conn: &mut Conn, before: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "DELETE FROM outbound_messages WHERE created_at < $1 AND NOT EXISTS (
             SELECT 1 FROM outbound_recipients r WHERE r.message_id = outbound_messages.id
               AND r.status IN ('queued', 'deferred'))
         RETURNING blob_hash",
        )
        .bind(before)
        .fetch_all(conn)
        .await?)
    })
}

/// The transport table, by domain.
pub async fn transports(conn: &mut Conn) -> Result<Vec<OutboundTransport>> {
    super::on_db!(conn, conn => {
        transports_page(conn, "", u32::MAX).await
    })
}

/// At most `limit` routes of domains after `after`, by domain (`*` first). Keyset paging.
pub async fn transports_page(conn: &mut Conn, after: &str, limit: u32) -> Result<Vec<OutboundTransport>> {
    super::on_db!(conn, conn => {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT domain, host, port FROM outbound_transports WHERE domain > $1 ORDER BY domain LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await?;
        Ok(rows.into_iter().map(|(domain, host, port)| OutboundTransport { domain, host, port: port as u16 }).collect())
    })
}

/// Sets (adds or replaces) a domain's route.
pub async fn set_transport(conn: &mut Conn, t: &OutboundTransport) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO outbound_transports (domain, host, port) VALUES ($1, $2, $3)
             ON CONFLICT (domain) DO UPDATE SET host = excluded.host, port = excluded.port",
        )
        .bind(&t.domain)
        .bind(&t.host)
        .bind(i64::from(t.port))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Removes a domain's route; whether there was one.
pub async fn remove_transport(conn: &mut Conn, domain: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query("DELETE FROM outbound_transports WHERE domain = $1")
            .bind(domain)
            .execute(conn)
            .await?
            .rows_affected()
            > 0)
    })
}

/// The active DKIM key of a domain: selector, algorithm, private key PEM.
pub async fn active_dkim_key(conn: &mut Conn, domain: &str) -> Result<Option<(String, String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT k.selector, k.algorithm, k.private_key_pem FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
             WHERE d.name = $1 AND k.active = TRUE",
        )
        .bind(domain)
        .fetch_optional(conn)
        .await?)
    })
}

/// One queue row for the admin list: message and recipient columns.
pub type QueueRow =
    (i64, String, i64, i64, Option<String>, Option<i64>, String, String, i64, i64, Option<i64>, Option<String>);

/// The newest `limit` messages older than the message `before` (ids grow with time) that
/// match the filters, with all their recipients. Keyset paging: the same cost at any depth.
pub async fn list(
    conn: &mut Conn,
    status: Option<&str>,
    domain: Option<&str>,
    sender: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<QueueRow>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "WITH picked AS (
             SELECT m.id FROM outbound_messages m
             WHERE ($1 IS NULL OR m.sender = $1) AND ($5 IS NULL OR m.id < $5)
               AND EXISTS (SELECT 1 FROM outbound_recipients f WHERE f.message_id = m.id
                           AND ($2 IS NULL OR f.status = $2) AND ($3 IS NULL OR f.domain = $3))
             ORDER BY m.id DESC LIMIT $4)
         SELECT m.id, m.sender, m.size, m.created_at, m.lease_owner, m.lease_until,
                r.address, r.status, r.attempts, r.next_attempt_at, r.last_attempt_at, r.last_reply
         FROM picked p JOIN outbound_messages m ON m.id = p.id JOIN outbound_recipients r ON r.message_id = m.id
         ORDER BY m.id DESC, r.id",
        )
        .bind(sender)
        .bind(status)
        .bind(domain)
        .bind(i64::from(limit))
        .bind(before)
        .fetch_all(conn)
        .await?)
    })
}

/// Makes a message's waiting recipients due now (`bounce`: and gives them up); how many.
pub async fn due_now(conn: &mut Conn, id: i64, now: i64, bounce: bool) -> Result<u64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(
            "UPDATE outbound_recipients SET next_attempt_at = $1, bounce_now = bounce_now OR $2
             WHERE message_id = $3 AND status IN ('queued', 'deferred')",
        )
        .bind(now)
        .bind(bounce)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected())
    })
}

/// Deletes a message with its recipients; its blob name, or `None` when there is none.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("DELETE FROM outbound_messages WHERE id = $1 RETURNING blob_hash")
            .bind(id)
            .fetch_optional(conn)
            .await?)
    })
}

/// Recipients per destination domain and status, the busiest `limit` domains first.
pub async fn destinations(conn: &mut Conn, limit: i64) -> Result<Vec<OutboundDestination>> {
    super::on_db!(conn, conn => {
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT domain, count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'deferred'),
                count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'bounced')
         FROM outbound_recipients GROUP BY domain ORDER BY count(*) DESC, domain LIMIT $1",
        )
        .bind(limit)
        .fetch_all(conn)
        .await?;
        let n = |v: i64| v.max(0) as u64;
        Ok(rows
            .into_iter()
            .map(|(domain, queued, deferred, delivered, bounced)| OutboundDestination {
                domain,
                queued: n(queued),
                deferred: n(deferred),
                delivered: n(delivered),
                bounced: n(bounced),
            })
            .collect())
    })
}

/// The MTA-STS policy kept for `domain`, if still in force at `now`.
pub async fn sts_policy(conn: &mut Conn, domain: &str, now: i64) -> Result<Option<KeptStsPolicy>> {
    super::on_db!(conn, conn => {
        let row: Option<(String, String, String, i64, i64)> =
            sqlx::query_as("SELECT id, mode, mx, max_age, until FROM mta_sts_policies WHERE domain = $1 AND until > $2")
                .bind(domain)
                .bind(now)
                .fetch_optional(conn)
                .await?;
        Ok(row.map(|(id, mode, mx, max_age, until)| KeptStsPolicy {
            domain: domain.to_string(),
            id,
            mode,
            mx: mx.lines().map(str::to_string).collect(),
            max_age: max_age.max(0) as u64,
            until,
        }))
    })
}

/// Keeps `p` (replacing its domain's), drops the policies out of force at `now`, then the
/// ones ending soonest beyond `max_kept`.
pub async fn keep_sts_policy(conn: &mut Conn, p: &KeptStsPolicy, now: i64, max_kept: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM mta_sts_policies WHERE until <= $1").bind(now).execute(&mut *conn).await?;
        sqlx::query(
            "INSERT INTO mta_sts_policies (domain, id, mode, mx, max_age, until) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (domain) DO UPDATE SET id = excluded.id, mode = excluded.mode, mx = excluded.mx,
             max_age = excluded.max_age, until = excluded.until",
        )
        .bind(&p.domain)
        .bind(&p.id)
        .bind(&p.mode)
        .bind(p.mx.join("\n"))
        .bind(p.max_age.min(i64::MAX as u64) as i64)
        .bind(p.until)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM mta_sts_policies WHERE domain IN (
             SELECT domain FROM mta_sts_policies ORDER BY until
             LIMIT max((SELECT count(*) FROM mta_sts_policies) - $1, 0))",
        )
        .bind(max_kept)
        .execute(conn)
        .await?;
        Ok(())
    })
}
