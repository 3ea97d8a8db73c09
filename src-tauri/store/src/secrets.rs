//! Sealed secrets shared by the nodes of one PostgreSQL database (the engine seals and opens
//! them; here they are text). The table exists on PostgreSQL only.

use super::Conn;
use crate::Result;

/// The table (PostgreSQL only).
pub const TABLE: &str = "sealed_secrets";

/// The sealed text of the secret `name`.
pub async fn get(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT sealed FROM sealed_secrets WHERE name = $1").bind(name).fetch_optional(conn).await?)
    })
}

/// Every secret's name and sealed text, by name, each row locked until the transaction ends
/// (a node's write of one waits for it).
pub async fn all_for_update(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT name, sealed FROM sealed_secrets ORDER BY name FOR UPDATE").fetch_all(conn).await?)
    })
}

/// Stores (or replaces) the sealed text of `name` (one statement: on a pooled connection it
/// commits by itself).
pub async fn set(conn: &mut Conn, name: &str, sealed: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO sealed_secrets (name, sealed) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed",
        )
        .bind(name)
        .bind(sealed)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Forgets `name`; no such secret is not an error.
pub async fn delete(conn: &mut Conn, name: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(name).execute(conn).await?;
        Ok(())
    })
}
