//! Domains: rows, plan limits, groups.

use sqlx::Row;

use super::Conn;
use crate::Result;
use crate::model::{Domain, DomainGroup, PlanLimits};

/// The id of the domain named `name` (canonical).
pub async fn id_by_name(conn: &mut Conn, name: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT id FROM domains WHERE name = $1").bind(name).fetch_optional(conn).await?)
    })
}

const SELECT: &str = "SELECT d.name, g.name AS group_name, d.max_accounts, d.mailbox_size_mb,
        d.attachment_size_mb, d.large_attachments, d.created_at, d.account_count
    FROM domains d LEFT JOIN domain_groups g ON g.id = d.group_id";

fn from_row(r: impl super::DbRow) -> Domain {
    let name: String = r.get("name");
    let (display_name, _) = idna::domain_to_unicode(&name);
    Domain {
        display_name,
        name,
        group: r.get("group_name"),
        limits: PlanLimits {
            max_accounts: r.get::<i64, _>("max_accounts") as u32,
            mailbox_size_mb: r.get::<i64, _>("mailbox_size_mb") as u32,
            attachment_size_mb: r.get::<i64, _>("attachment_size_mb") as u32,
            large_attachments: r.get("large_attachments"),
        },
        account_count: r.get::<i64, _>("account_count") as u32,
        created_at: r.get("created_at"),
    }
}

/// The domain named `name` (canonical).
pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Option<Domain>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(&format!("{SELECT} WHERE d.name = $1")).bind(name).fetch_optional(conn).await?.map(from_row))
    })
}

/// At most `limit` domains named after `after`, by name; only those named in `scope` (a
/// JSON array of names) unless it is `None`. Keyset paging: the same cost at any depth.
pub async fn page(conn: &mut Conn, scope: Option<&str>, after: &str, limit: u32) -> Result<Vec<Domain>> {
    super::on_db!(conn, conn => {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE d.name > $1 AND ($2 IS NULL OR d.name IN (SELECT value FROM json_each($2)))
             ORDER BY d.name LIMIT $3"
        ))
        .bind(after)
        .bind(scope)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    })
}

/// How many domains are named `name` (0 or 1).
pub async fn count_named(conn: &mut Conn, name: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM domains WHERE name = $1").bind(name).fetch_one(conn).await?)
    })
}

/// A domain's account count (kept by triggers; deleted accounts included as the triggers
/// count them).
pub async fn account_count(conn: &mut Conn, domain_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT account_count FROM domains WHERE id = $1").bind(domain_id).fetch_one(conn).await?)
    })
}

/// The attachment size (MiB) of the plan of domain `name`.
pub async fn attachment_size_mb(conn: &mut Conn, name: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT attachment_size_mb FROM domains WHERE name = $1")
            .bind(name)
            .fetch_optional(conn)
            .await?)
    })
}

/// A group's name, its allowance, and the accounts allocated to its domains other than
/// `domain`.
pub async fn group_allocation(conn: &mut Conn, group_id: i64, domain: &str) -> Result<(String, i64, i64)> {
    super::on_db!(conn, conn => {
        let row = sqlx::query(
            "SELECT g.name, g.max_accounts,
            (SELECT coalesce(CAST(sum(max_accounts) AS BIGINT), 0) FROM domains WHERE group_id = g.id AND name <> $1) AS others
         FROM domain_groups g WHERE g.id = $2",
        )
        .bind(domain)
        .bind(group_id)
        .fetch_one(conn)
        .await?;
        Ok((row.get(0), row.get(1), row.get(2)))
    })
}

/// How many accounts of domain `name` have a quota above `mailbox_size_mb`.
pub async fn quotas_above(conn: &mut Conn, name: &str, mailbox_size_mb: u32) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = $1 AND a.quota_mb > $2",
        )
        .bind(name)
        .bind(i64::from(mailbox_size_mb))
        .fetch_one(conn)
        .await?)
    })
}

/// The id of the domain group named `name`.
pub async fn group_id_by_name(conn: &mut Conn, name: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT id FROM domain_groups WHERE name = $1").bind(name).fetch_optional(conn).await?)
    })
}

/// The id of the domain group named `name`, which must exist.
pub async fn group_id(conn: &mut Conn, name: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT id FROM domain_groups WHERE name = $1").bind(name).fetch_one(conn).await?)
    })
}

/// The group of the domain `name` (which must exist), if it has one.
pub async fn group_of(conn: &mut Conn, name: &str) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT group_id FROM domains WHERE name = $1").bind(name).fetch_one(conn).await?)
    })
}

/// Inserts a domain.
pub async fn insert(conn: &mut Conn, name: &str, group_id: Option<i64>, limits: &PlanLimits, at: String) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO domains (name, group_id, max_accounts, mailbox_size_mb, attachment_size_mb, large_attachments, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(name)
        .bind(group_id)
        .bind(i64::from(limits.max_accounts))
        .bind(i64::from(limits.mailbox_size_mb))
        .bind(i64::from(limits.attachment_size_mb))
        .bind(limits.large_attachments)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Sets a domain's plan limits.
pub async fn set_limits(conn: &mut Conn, name: &str, limits: &PlanLimits) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE domains SET max_accounts = $1, mailbox_size_mb = $2, attachment_size_mb = $3, large_attachments = $4 WHERE name = $5",
        )
        .bind(i64::from(limits.max_accounts))
        .bind(i64::from(limits.mailbox_size_mb))
        .bind(i64::from(limits.attachment_size_mb))
        .bind(limits.large_attachments)
        .bind(name)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// The names of the domains of the group named `group`.
pub async fn group_domain_names(conn: &mut Conn, group: &str) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT d.name FROM domains d JOIN domain_groups g ON g.id = d.group_id WHERE g.name = $1")
            .bind(group)
            .fetch_all(conn)
            .await?)
    })
}

/// Sets a domain's account allocation.
pub async fn set_max_accounts(conn: &mut Conn, name: &str, max_accounts: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE domains SET max_accounts = $1 WHERE name = $2")
            .bind(i64::from(max_accounts))
            .bind(name)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// How many addresses a domain has (accounts, aliases, groups; deleted accounts too).
pub async fn address_count(conn: &mut Conn, domain_id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM addresses WHERE domain_id = $1").bind(domain_id).fetch_one(conn).await?)
    })
}

/// Deletes a domain (with no addresses left) and its rules, departments and DKIM keys.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM pickup_rules WHERE domain_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM departments WHERE domain_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM dkim_keys WHERE domain_id = $1").bind(id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM domains WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// The domain group named `name`.
pub async fn group(conn: &mut Conn, name: &str) -> Result<Option<DomainGroup>> {
    super::on_db!(conn, conn => {
        let Some(row) = sqlx::query("SELECT id, name, max_accounts FROM domain_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.get("id");
        let domains: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, max_accounts FROM domains WHERE group_id = $1 ORDER BY name")
                .bind(id)
                .fetch_all(conn)
                .await?;
        Ok(Some(DomainGroup {
            name: row.get("name"),
            max_accounts: row.get::<i64, _>("max_accounts") as u32,
            allocated: domains.iter().map(|(_, n)| *n as u32).sum(),
            domains: domains.into_iter().map(|(d, _)| d).collect(),
        }))
    })
}

/// The names of every domain group, sorted.
/// At most `limit` group names after `after`, by name; only groups with a subsidiary named
/// in `scope` (a JSON array of domain names) unless it is `None`.
pub async fn group_names(conn: &mut Conn, scope: Option<&str>, after: &str, limit: u32) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT g.name FROM domain_groups g WHERE g.name > $1
           AND ($2 IS NULL OR EXISTS (SELECT 1 FROM domains d WHERE d.group_id = g.id
                                      AND d.name IN (SELECT value FROM json_each($2))))
         ORDER BY g.name LIMIT $3",
        )
        .bind(after)
        .bind(scope)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?)
    })
}

/// Inserts a domain group.
pub async fn insert_group(conn: &mut Conn, name: &str, max_accounts: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO domain_groups (name, max_accounts) VALUES ($1, $2)")
            .bind(name)
            .bind(i64::from(max_accounts))
            .execute(conn)
            .await?;
        Ok(())
    })
}
