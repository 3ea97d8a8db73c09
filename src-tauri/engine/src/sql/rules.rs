//! Mail rules on the path: the SRS key of forwarding.

use super::Conn;
use crate::Result;

/// The SRS key, if one was made.
pub(crate) async fn srs_secret(conn: &mut Conn) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT secret FROM srs_secret WHERE id = 1").fetch_optional(conn).await?)
}

/// Stores `secret` as the SRS key unless one exists; the one in force.
pub(crate) async fn keep_srs_secret(conn: &mut Conn, secret: &str, now: &str) -> Result<String> {
    sqlx::query("INSERT INTO srs_secret (id, secret, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING")
        .bind(secret)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("SELECT secret FROM srs_secret WHERE id = 1").fetch_one(conn).await?)
}
