//! The smarthost relays (`outbound_relays`): one row per scope, `*` or a sender domain.
//! No secret is ever stored here.

use super::Conn;
use crate::Result;

/// A stored relay: scope, host, port, tls, verify_certificate, auth, username.
pub type Row = (String, String, i64, String, bool, String, String);

/// At most `limit` relays of scopes after `after`, by scope: `*` first (it sorts before every
/// domain name's characters), then by domain. Keyset paging.
pub async fn list(conn: &mut Conn, after: &str, limit: u32) -> Result<Vec<Row>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT scope, host, port, tls, verify_certificate, auth, username FROM outbound_relays
             WHERE scope > $1 ORDER BY scope LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?)
    })
}

/// The relay of `scope`, if there is one.
pub async fn get(conn: &mut Conn, scope: &str) -> Result<Option<Row>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT scope, host, port, tls, verify_certificate, auth, username FROM outbound_relays WHERE scope = $1",
        )
        .bind(scope)
        .fetch_optional(conn)
        .await?)
    })
}

/// Sets (adds or replaces) the relay of its scope.
pub async fn set(conn: &mut Conn, row: &Row) -> Result<()> {
    super::on_db!(conn, conn => {
        let (scope, host, port, tls, verify, auth, username) = row;
        sqlx::query(
            "INSERT INTO outbound_relays (scope, host, port, tls, verify_certificate, auth, username)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (scope) DO UPDATE SET host = excluded.host, port = excluded.port, tls = excluded.tls,
             verify_certificate = excluded.verify_certificate, auth = excluded.auth, username = excluded.username",
        )
        .bind(scope)
        .bind(host)
        .bind(port)
        .bind(tls)
        .bind(verify)
        .bind(auth)
        .bind(username)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Removes the relay of `scope`; whether there was one.
pub async fn remove(conn: &mut Conn, scope: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query("DELETE FROM outbound_relays WHERE scope = $1").bind(scope).execute(conn).await?.rows_affected() > 0)
    })
}
