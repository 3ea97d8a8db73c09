//! Mailbox logins: the account a login names, failed-login counting and lockout.

use super::Conn;
use crate::Result;
use std::sync::LazyLock;

use super::settings::lockout_threshold_sql;

/// What a login needs of an account and its domain.
#[derive(sqlx::FromRow)]
pub struct LoginRow {
    pub id: i64,
    pub address: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub force_password_change: bool,
    pub failed_logins: i64,
    pub lockout_threshold: i64,
}

/// The account whose own address or account alias is `address` (canonical).
pub async fn account(conn: &mut Conn, address: &str) -> Result<Option<LoginRow>> {
    super::on_db!(conn, conn => {
        static QUERY: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT a.id, a.address, a.status, a.password_hash, a.force_password_change, a.failed_logins, {} AS lockout_threshold
             FROM accounts a JOIN domains d ON d.id = a.domain_id LEFT JOIN account_aliases x ON x.account_id = a.id
             WHERE a.address = $1 OR x.address = $1 LIMIT 1",
                lockout_threshold_sql()
            )
        });
        Ok(sqlx::query_as(QUERY.as_str()).bind(address).fetch_optional(conn).await?)
    })
}

/// Clears an account's failed-login counter.
pub async fn clear_failures(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE accounts SET failed_logins = 0 WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Counts a failed login; returns the failed logins in a row.
pub async fn count_failure(conn: &mut Conn, id: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(id)
            .fetch_one(conn)
            .await?)
    })
}

/// Until when (UNIX seconds) `client` is kept out of account `id`, if it is now.
pub async fn client_locked_until(conn: &mut Conn, id: i64, client: &str, now: i64) -> Result<Option<i64>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "SELECT locked_until FROM login_failures WHERE account_id = $1 AND client = $2 AND locked_until > $3",
        )
        .bind(id)
        .bind(client)
        .bind(now)
        .fetch_optional(conn)
        .await?
        .flatten())
    })
}

/// Counts a failed login of `client` on account `id` and returns its failures in a row.
/// Rows last touched more than `window` seconds ago (and no longer locking) go first, so
/// the table holds only recent clients and an old count starts again.
pub async fn count_client_failure(conn: &mut Conn, id: i64, client: &str, now: i64, window: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM login_failures WHERE last_at < $1 AND (locked_until IS NULL OR locked_until < $2)")
            .bind(now - window)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO login_failures (account_id, client, failures, last_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (account_id, client) DO UPDATE SET failures = login_failures.failures + 1, last_at = $3
         RETURNING failures",
        )
        .bind(id)
        .bind(client)
        .bind(now)
        .fetch_one(conn)
        .await?)
    })
}

/// Keeps `client` out of account `id` until `until`.
pub async fn lock_client(conn: &mut Conn, id: i64, client: &str, until: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE login_failures SET locked_until = $1 WHERE account_id = $2 AND client = $3")
            .bind(until)
            .bind(id)
            .bind(client)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Whether `client` has failed logins counted on account `id`.
pub async fn client_failures(conn: &mut Conn, id: i64, client: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT) FROM login_failures WHERE account_id = $1 AND client = $2")
            .bind(id)
            .bind(client)
            .fetch_optional(conn)
            .await?
            .is_some())
    })
}

/// Forgets the failures and lockouts of every client on account `id`.
pub async fn clear_all_client_failures(conn: &mut Conn, id: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM login_failures WHERE account_id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Forgets the failed logins of `client` on account `id` (it logged in).
pub async fn clear_client_failures(conn: &mut Conn, id: i64, client: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM login_failures WHERE account_id = $1 AND client = $2")
            .bind(id)
            .bind(client)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// One login-log row to write.
pub struct LogEntry<'a> {
    pub at: String,
    pub service: &'a str,
    pub login: &'a str,
    pub account: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub client: String,
    pub outcome: &'a str,
    pub reason: &'a str,
}

/// Writes a login-log row and drops the rows older than the newest `keep`.
pub async fn log(conn: &mut Conn, e: LogEntry<'_>, keep: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO login_log (at, service, login, account, domain, client, outcome, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(e.at)
        .bind(e.service)
        .bind(e.login)
        .bind(e.account)
        .bind(e.domain)
        .bind(e.client)
        .bind(e.outcome)
        .bind(e.reason)
        .fetch_one(&mut *conn)
        .await?;
        if id % 1000 == 0 {
            sqlx::query("DELETE FROM login_log WHERE id <= $1").bind(id - keep).execute(conn).await?;
        }
        Ok(())
    })
}

/// A login-log row as read.
#[derive(sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub at: String,
    pub service: String,
    pub login: String,
    pub account: Option<String>,
    pub domain: Option<String>,
    pub client: String,
    pub outcome: String,
    pub reason: String,
}

/// Which login-log rows a page shows; `None` matches everything.
#[derive(Default)]
pub struct Filter<'a> {
    /// The account (canonical address).
    pub account: Option<&'a str>,
    /// The domain.
    pub domain: Option<&'a str>,
    /// A JSON array of the domains the caller may see (rows of no domain are outside it).
    pub scope: Option<&'a str>,
    /// Only rows with a smaller id.
    pub before: Option<i64>,
}

/// The statement of [`page`] for `f`: only the filters given become terms, so each shape
/// is one index range walked backwards — the account or domain index `(…, id)`, else the
/// table itself in id order — that stops after `limit` rows however long the log is (no
/// OFFSET, no count).
fn select(f: &Filter<'_>) -> String {
    let mut sql = String::from(
        "SELECT id, at, service, login, account, domain, client, outcome, reason FROM login_log WHERE TRUE",
    );
    let mut n = 0;
    for (on, term) in [
        (f.account.is_some(), " AND account = $"),
        (f.domain.is_some(), " AND domain = $"),
        (f.scope.is_some(), " AND domain IN (SELECT value FROM json_each($"),
        (f.before.is_some(), " AND id < $"),
    ] {
        if on {
            n += 1;
            sql.push_str(term);
            sql.push_str(&n.to_string());
            if term.ends_with("json_each($") {
                sql.push_str("))");
            }
        }
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    sql
}

/// The rows matching `f`, newest first, at most `limit`.
pub async fn page(conn: &mut Conn, f: &Filter<'_>, limit: i64) -> Result<Vec<LogRow>> {
    super::on_db!(conn, conn => {
        let sql = select(f);
        let mut q = sqlx::query_as(&sql);
        for text in [f.account, f.domain, f.scope].into_iter().flatten() {
            q = q.bind(text);
        }
        if let Some(before) = f.before {
            q = q.bind(before);
        }
        Ok(q.bind(limit).fetch_all(conn).await?)
    })
}

/// The query plan of [`page`] for `f` on SQLite, one line per step (for the tests).
#[doc(hidden)]
pub async fn plan(conn: &mut Conn, f: &Filter<'_>) -> Result<String> {
    super::on_db!(conn, conn => {
        use sqlx::Row;
        let sql = format!("EXPLAIN QUERY PLAN {}", select(f));
        let mut q = sqlx::query(&sql);
        for text in [f.account, f.domain, f.scope].into_iter().flatten() {
            q = q.bind(text);
        }
        if let Some(before) = f.before {
            q = q.bind(before);
        }
        let rows = q.bind(10_i64).fetch_all(conn).await?;
        Ok(rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<_>>().join("\n"))
    })
}
