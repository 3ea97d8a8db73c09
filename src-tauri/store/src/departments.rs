//! Departments: the tree's rows and the account counts per department.

use super::Conn;
use crate::Result;

/// Every department of a domain: id, parent id, name.
pub async fn nodes(conn: &mut Conn, domain_id: i64) -> Result<Vec<(i64, Option<i64>, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, parent_id, name FROM departments WHERE domain_id = $1")
            .bind(domain_id)
            .fetch_all(conn)
            .await?)
    })
}

/// Inserts a department; returns its id.
pub async fn insert(conn: &mut Conn, domain_id: i64, parent: Option<i64>, name: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        let id = sqlx::query_scalar::<_, i64>("INSERT INTO departments (domain_id, parent_id, name, name_key) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(domain_id)
            .bind(parent)
            .bind(name)
            .bind(name.to_lowercase())
            .fetch_one(conn)
            .await?;
        Ok(id)
    })
}

/// Accounts (not deleted) directly in each of the departments `ids`.
pub async fn counts_in(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(Option<i64>, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT department_id, count(*) FROM accounts
             WHERE department_id IN (SELECT CAST(value AS BIGINT) FROM json_each($1)) AND status <> 'deleted' GROUP BY department_id",
        )
        .bind(serde_json::to_string(ids)?)
        .fetch_all(conn)
        .await?)
    })
}

/// Accounts (not deleted) directly in each department of a domain.
pub async fn counts(conn: &mut Conn, domain_id: i64) -> Result<Vec<(i64, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT department_id, count(*) FROM accounts
             WHERE domain_id = $1 AND department_id IS NOT NULL AND status <> 'deleted' GROUP BY department_id",
        )
        .bind(domain_id)
        .fetch_all(conn)
        .await?)
    })
}

/// Moves a department under `parent` (`None`: the top level).
pub async fn set_parent(conn: &mut Conn, id: i64, parent: Option<i64>) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE departments SET parent_id = $1 WHERE id = $2").bind(parent).bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Renames a department.
pub async fn rename(conn: &mut Conn, id: i64, name: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE departments SET name = $1, name_key = $2 WHERE id = $3")
            .bind(name)
            .bind(name.to_lowercase())
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Accounts (not deleted) directly in a department.
pub async fn active_accounts(conn: &mut Conn, id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM accounts WHERE department_id = $1 AND status <> 'deleted'")
            .bind(id)
            .fetch_one(conn)
            .await?)
    })
}

/// Deletes a department, first unlinking the (deleted) accounts still pointing at it.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        // Accounts in the recycle bin keep no pointer to a department that is gone.
        sqlx::query("UPDATE accounts SET department_id = NULL WHERE department_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM departments WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}
