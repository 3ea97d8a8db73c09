//! Where the data folder's blobs are (the one `blob_location` row), and which blobs its rows
//! refer to (what moving them must carry).

use super::Conn;
use crate::Result;

/// The recorded location, `None` when none was recorded (the data folder's own files).
pub async fn get(conn: &mut Conn) -> Result<Option<String>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT location FROM blob_location WHERE id = 1").fetch_optional(conn).await?)
    })
}

pub async fn set(conn: &mut Conn, location: &str, at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO blob_location (id, location, changed_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET location = excluded.location, changed_at = excluded.changed_at",
        )
        .bind(location)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Every blob a row needs, with the size the row records: messages' blobs, and queued
/// messages' whose bytes are not in their own row.
pub async fn referenced(conn: &mut Conn) -> Result<Vec<(String, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as(
            "SELECT blob_hash, max(size) FROM messages GROUP BY blob_hash
             UNION SELECT blob_hash, max(size) FROM outbound_messages WHERE body IS NULL GROUP BY blob_hash",
        )
        .fetch_all(conn)
        .await?)
    })
}
