//! Phone binding and the SMS gateway (`account_phones`, `phone_codes`, `phone_code_sends`,
//! `sms_gateway`, `sms_log`). No code and no token is ever stored in clear.

use super::Conn;
use crate::Result;

/// The bound phone of account `id` and when it was bound.
pub async fn bound(conn: &mut Conn, account: i64) -> Result<Option<(String, i64)>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT phone, bound_at FROM account_phones WHERE account_id = $1")
            .bind(account)
            .fetch_optional(conn)
            .await?)
    })
}

/// Binds `phone` to the account (replacing a bound one).
pub async fn bind(conn: &mut Conn, account: i64, phone: &str, at: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO account_phones (account_id, phone, bound_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, bound_at = excluded.bound_at",
        )
        .bind(account)
        .bind(phone)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Removes the account's bound phone and pending code; whether a phone was bound.
pub async fn unbind(conn: &mut Conn, account: i64) -> Result<bool> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM phone_codes WHERE account_id = $1").bind(account).execute(&mut *conn).await?;
        let done = sqlx::query("DELETE FROM account_phones WHERE account_id = $1").bind(account).execute(conn).await?;
        Ok(done.rows_affected() == 1)
    })
}

/// A pending code: phone, salt, hash, expiry, wrong tries.
pub type Code = (String, String, String, i64, i64);

/// The account's pending code.
pub async fn code(conn: &mut Conn, account: i64) -> Result<Option<Code>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT phone, salt, code_hash, expires_at, wrong_tries FROM phone_codes WHERE account_id = $1")
            .bind(account)
            .fetch_optional(conn)
            .await?)
    })
}

/// Stores the account's pending code (replacing one).
pub async fn put_code(conn: &mut Conn, account: i64, code: (&str, &str, &str, i64)) -> Result<()> {
    super::on_db!(conn, conn => {
        let (phone, salt, hash, expires_at) = code;
        sqlx::query(
            "INSERT INTO phone_codes (account_id, phone, salt, code_hash, expires_at, wrong_tries) VALUES ($1, $2, $3, $4, $5, 0)
         ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, salt = excluded.salt,
             code_hash = excluded.code_hash, expires_at = excluded.expires_at, wrong_tries = 0",
        )
        .bind(account)
        .bind(phone)
        .bind(salt)
        .bind(hash)
        .bind(expires_at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Counts a send (also one that failed) at `at`; sends before `forget_before` are forgotten.
pub async fn record_send(conn: &mut Conn, account: i64, at: i64, forget_before: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM phone_code_sends WHERE at < $1").bind(forget_before).execute(&mut *conn).await?;
        sqlx::query("INSERT INTO phone_code_sends (account_id, at) VALUES ($1, $2)")
            .bind(account)
            .bind(at)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Codes sent to the account since `since`.
pub async fn sends_since(conn: &mut Conn, account: i64, since: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM phone_code_sends WHERE account_id = $1 AND at >= $2")
            .bind(account)
            .bind(since)
            .fetch_one(conn)
            .await?)
    })
}

/// Counts a wrong try; the tries now.
pub async fn wrong_try(conn: &mut Conn, account: i64) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar(
            "UPDATE phone_codes SET wrong_tries = wrong_tries + 1 WHERE account_id = $1 RETURNING wrong_tries",
        )
        .bind(account)
        .fetch_optional(conn)
        .await?
        .unwrap_or(0))
    })
}

/// Voids the account's pending code.
pub async fn drop_code(conn: &mut Conn, account: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM phone_codes WHERE account_id = $1").bind(account).execute(conn).await?;
        Ok(())
    })
}

/// The gateway: mode and URL.
pub async fn gateway(conn: &mut Conn) -> Result<(String, String)> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT mode, url FROM sms_gateway WHERE id = 1")
            .fetch_optional(conn)
            .await?
            .unwrap_or_else(|| ("log".to_string(), String::new())))
    })
}

/// Sets the gateway.
pub async fn set_gateway(conn: &mut Conn, mode: &str, url: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO sms_gateway (id, mode, url) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET mode = excluded.mode, url = excluded.url",
        )
        .bind(mode)
        .bind(url)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Adds a message to the SMS log, keeping the last `keep`.
pub async fn log(conn: &mut Conn, at: i64, to: &str, text: &str, account: &str, keep: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO sms_log (at, recipient, text, account) VALUES ($1, $2, $3, $4)")
            .bind(at)
            .bind(to)
            .bind(text)
            .bind(account)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM sms_log WHERE id <= (SELECT max(id) FROM sms_log) - $1").bind(keep).execute(conn).await?;
        Ok(())
    })
}

/// A logged message: id, at, recipient, text, account.
pub type Logged = (i64, i64, String, String, Option<String>);

/// At most `limit` logged messages older than id `before`, newest first.
pub async fn log_page(conn: &mut Conn, before: i64, limit: u32) -> Result<Vec<Logged>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_as("SELECT id, at, recipient, text, account FROM sms_log WHERE id < $1 ORDER BY id DESC LIMIT $2")
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?)
    })
}
