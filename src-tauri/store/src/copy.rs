//! Copying a SQLite database into an empty PostgreSQL one (`postdesk migrate`): every table
//! of the PostgreSQL schema, row for row, in one PostgreSQL transaction that commits only
//! once every table holds as many rows as on SQLite.
//!
//! Rows go through `COPY … FROM STDIN` in chunks (bounded memory whatever the size), each
//! value read from SQLite as text (`hex` for blobs). The target's own triggers are off while
//! it fills (the counters and mod-sequences they keep are copied as they are), its foreign
//! keys are checked at commit (they are `DEFERRABLE`, so tables go in any order), and its
//! identity sequences are moved past the copied ids.

use futures::TryStreamExt;
use sqlx::Row;

use super::{Pool, PoolKind};
use crate::{Error, Result};

/// Bytes of COPY data sent at once.
const CHUNK: usize = 1 << 20;

/// What was copied: each table and its rows (as counted on both sides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: String,
    pub rows: u64,
}

/// Tables SQLite has not (emptied with the rest, not copied): the nodes' sealed secrets.
const POSTGRES_ONLY: &[&str] = &[super::secrets::TABLE];

/// The tables a fresh PostgreSQL database holds rows in only when someone used it: a
/// target with any of these is refused (it is not the empty database a copy needs).
const IN_USE: [&str; 3] = ["admins", "domains", "accounts"];

/// Copies the SQLite database `from` into the PostgreSQL database `to` (migrated, unused).
pub async fn sqlite_to_postgres(from: &Pool, to: &Pool) -> Result<Vec<Copied>> {
    let (PoolKind::Sqlite(from), PoolKind::Postgres(to)) = (&from.inner, &to.inner) else {
        return Err(Error::internal("a copy goes from SQLite to PostgreSQL"));
    };
    let mut src = from.acquire().await?;
    let mut tx = to.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(super::PG_WRITE_LOCK).execute(&mut *tx).await?;
    for table in IN_USE {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *tx).await?;
        if n > 0 {
            return Err(Error::conflict(format!(
                "the PostgreSQL database is in use already ({table} holds {n} rows): copy into an empty database"
            )));
        }
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(&mut *tx)
    .await?;
    // The rows the migrations seeded (settings' single rows, generated keys) give way to
    // the copied ones.
    sqlx::query(&format!("TRUNCATE {}", tables.join(", "))).execute(&mut *tx).await?;
    // Triggers off before any row goes in (a table with checks pending cannot be altered).
    for table in &tables {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER USER")).execute(&mut *tx).await?;
    }
    sqlx::query("SET CONSTRAINTS ALL DEFERRED").execute(&mut *tx).await?;
    let mut copied = Vec::new();
    for table in tables.iter().filter(|t| !POSTGRES_ONLY.contains(&t.as_str())) {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let select = columns
            .iter()
            .map(|(name, kind)| match kind.as_str() {
                "bytea" => format!("CASE WHEN \"{name}\" IS NULL THEN NULL ELSE '\\x' || hex(\"{name}\") END"),
                _ => format!("CAST(\"{name}\" AS TEXT)"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let names = columns.iter().map(|(n, _)| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
        let mut copy = tx.copy_in_raw(&format!("COPY {table} ({names}) FROM STDIN")).await?;
        let sql = format!("SELECT {select} FROM {table}");
        let mut rows = sqlx::query(&sql).fetch(&mut *src);
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        let mut sent = 0u64;
        loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    let _ = copy.abort("reading SQLite failed").await;
                    return Err(e.into());
                }
            };
            for i in 0..columns.len() {
                if i > 0 {
                    buf.push(b'\t');
                }
                match row.try_get::<Option<String>, _>(i)? {
                    None => buf.extend_from_slice(b"\\N"),
                    Some(v) => escape_into(&mut buf, &v),
                }
            }
            buf.push(b'\n');
            sent += 1;
            if buf.len() >= CHUNK {
                copy.send(std::mem::take(&mut buf)).await?;
                buf.reserve(CHUNK + 4096);
            }
        }
        drop(rows);
        if !buf.is_empty() {
            copy.send(buf).await?;
        }
        copy.finish().await?;
        let source: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *src).await?;
        let target: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *tx).await?;
        if source != target || target as u64 != sent {
            return Err(Error::internal(format!(
                "{table}: {source} rows on SQLite, {sent} sent, {target} on PostgreSQL; nothing was copied"
            )));
        }
        if columns.iter().any(|(n, _)| n == "id") {
            let identity: Option<String> =
                sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')").bind(table).fetch_one(&mut *tx).await?;
            if let Some(sequence) = identity {
                sqlx::query(&format!("SELECT setval($1, (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
                    .bind(sequence)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        copied.push(Copied { table: table.clone(), rows: target as u64 });
    }
    // The deferred foreign keys are checked here: a row pointing nowhere refuses the copy.
    sqlx::query("SET CONSTRAINTS ALL IMMEDIATE").execute(&mut *tx).await?;
    for table in &tables {
        sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER USER")).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(copied)
}

/// `value` in COPY's text format: backslash, tab, newline and carriage return escaped.
fn escape_into(buf: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_as_syntax() {
        let mut buf = Vec::new();
        escape_into(&mut buf, "a\\b\tc\nd\re");
        assert_eq!(buf, b"a\\\\b\\tc\\nd\\re");
    }
}
