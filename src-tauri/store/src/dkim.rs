//! DKIM keys of the local server, per domain. Nothing here that feeds an API type
//! selects `private_key_pem`.

use postdesk_dns::DkimAlgorithm;

use super::Conn;
use crate::Result;
use crate::model::DkimKey;

/// The keys of `domain` (id `domain_id`): the active one first, then newest first.
pub async fn keys(conn: &mut Conn, domain: &str, domain_id: i64) -> Result<Vec<DkimKey>> {
    super::on_db!(conn, conn => {
        keys_page(conn, domain, domain_id, None, u32::MAX).await
    })
}

/// Where a page of DKIM keys starts: after the key with this (active, created_at, selector).
pub type KeyCursor<'a> = (bool, &'a str, &'a str);

/// At most `limit` keys of a domain after `after`, active first, then newest first, then by
/// selector. Keyset paging: the same cost at any depth.
pub async fn keys_page(
    conn: &mut Conn,
    domain: &str,
    domain_id: i64,
    after: Option<KeyCursor<'_>>,
    limit: u32,
) -> Result<Vec<DkimKey>> {
    super::on_db!(conn, conn => {
        let rows: Vec<(String, String, String, bool, String)> = sqlx::query_as(
            "SELECT selector, algorithm, record_value, active, created_at FROM dkim_keys
         WHERE domain_id = $1
           AND ($2 IS NULL OR active < $2 OR (active = $2 AND (created_at < $3 OR (created_at = $3 AND selector > $4))))
         ORDER BY active DESC, created_at DESC, selector LIMIT $5",
        )
        .bind(domain_id)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(after.map(|a| a.2))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(selector, algorithm, record_value, active, created_at)| DkimKey {
                record_name: format!("{selector}._domainkey.{domain}"),
                domain: domain.to_string(),
                algorithm: if algorithm == "ed25519" { DkimAlgorithm::Ed25519 } else { DkimAlgorithm::Rsa2048 },
                selector,
                record_value,
                active,
                created_at,
            })
            .collect())
    })
}

/// Makes every key of the domain inactive.
pub async fn deactivate_all(conn: &mut Conn, domain_id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE dkim_keys SET active = FALSE WHERE domain_id = $1").bind(domain_id).execute(conn).await?;
        Ok(())
    })
}

/// A new key to insert (active).
pub struct NewKey<'a> {
    pub domain_id: i64,
    pub selector: &'a str,
    pub algorithm: &'a str,
    pub private_key_pem: &'a str,
    pub record_value: &'a str,
    pub created_at: &'a str,
}

/// Inserts an active key (a taken selector is a conflict).
pub async fn insert(conn: &mut Conn, k: NewKey<'_>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key_pem, record_value, active, created_at)
             VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
        )
        .bind(k.domain_id)
        .bind(k.selector)
        .bind(k.algorithm)
        .bind(k.private_key_pem)
        .bind(k.record_value)
        .bind(k.created_at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Deletes the domain's key with `selector`.
pub async fn delete(conn: &mut Conn, domain_id: i64, selector: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM dkim_keys WHERE domain_id = $1 AND selector = $2")
            .bind(domain_id)
            .bind(selector)
            .execute(conn)
            .await?;
        Ok(())
    })
}
