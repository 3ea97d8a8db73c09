//! Workflow groups (`workflow_groups`, `workflow_group_members`): named groups of a domain's
//! users, owners of shared mailboxes as a whole.

use super::Conn;
use crate::Result;

/// A stored workflow group.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub created_at: String,
}

/// At most `limit` groups of the domain named after `after`, by name.
pub async fn list(conn: &mut Conn, domain_id: i64, after: &str, limit: u32) -> Result<Vec<Group>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT id, name, created_at FROM workflow_groups WHERE domain_id = $1 AND name > $2 ORDER BY name LIMIT $3",
        )
        .bind(domain_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?)
    })
}

/// The domain's group named `name` (any case).
pub async fn get(conn: &mut Conn, domain_id: i64, name: &str) -> Result<Option<Group>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT id, name, created_at FROM workflow_groups WHERE domain_id = $1 AND lower(name) = lower($2)",
        )
        .bind(domain_id)
        .bind(name)
        .fetch_optional(conn)
        .await?)
    })
}

/// The group's members' addresses, sorted.
pub async fn members(conn: &mut Conn, group_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT a.address FROM workflow_group_members m JOIN accounts a ON a.id = m.account_id
             WHERE m.group_id = $1 ORDER BY a.address",
        )
        .bind(group_id)
        .fetch_all(conn)
        .await?)
    })
}

/// The shared mailboxes the group owns (sender addresses), sorted.
pub async fn owns(conn: &mut Conn, group_id: i64) -> Result<Vec<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT a.address FROM shared_mailbox_owners o JOIN shared_mailboxes s ON s.id = o.mailbox_id
             JOIN accounts a ON a.id = s.account_id WHERE o.group_id = $1 ORDER BY a.address",
        )
        .bind(group_id)
        .fetch_all(conn)
        .await?)
    })
}

/// Inserts a group; returns its id.
pub async fn insert(conn: &mut Conn, domain_id: i64, name: &str, at: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>("INSERT INTO workflow_groups (domain_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(domain_id)
            .bind(name)
            .bind(at)
            .fetch_one(conn)
            .await?)
    })
}

/// Replaces the group's members with `accounts`.
pub async fn set_members(conn: &mut Conn, group_id: i64, accounts: &[i64]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM workflow_group_members WHERE group_id = $1").bind(group_id).execute(&mut *conn).await?;
        for id in accounts {
            sqlx::query("INSERT INTO workflow_group_members (group_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(group_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Removes a group (its members and ownerships go with it).
pub async fn remove(conn: &mut Conn, group_id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM workflow_groups WHERE id = $1").bind(group_id).execute(conn).await?;
        Ok(())
    })
}
