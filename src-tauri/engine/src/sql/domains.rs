//! Domains: rows, plan limits, groups.

use super::Conn;
use crate::Result;

/// The id of the domain named `name` (canonical).
pub(crate) async fn id_by_name(conn: &mut Conn, name: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM domains WHERE name = ?").bind(name).fetch_optional(conn).await?)
}
