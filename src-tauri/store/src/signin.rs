//! Admin sign-in: passwords, TOTP secrets and recovery codes of admins, web UI sessions,
//! failed sign-ins (for the rate limits) and the owner's sign-in policy.

use sqlx::Row;

use super::admins::admin_columns;
use super::{Conn, Pool};
use crate::Result;
use crate::model::{Admin, SignInPolicy};

/// What signing in needs of an admin.
pub struct Credentials {
    pub admin: Admin,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
}

/// The admin `name` with its sign-in secrets, if it exists.
pub async fn credentials(conn: &mut Conn, name: &str) -> Result<Option<Credentials>> {
    super::on_db!(conn, conn => {
        let row = sqlx::query(concat!(
            "SELECT ",
            admin_columns!(""),
            ", password_hash, totp_secret, totp_pending FROM admins WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| Credentials {
            admin: super::admins::admin_from_row(&r),
            password_hash: r.get("password_hash"),
            totp_secret: r.get("totp_secret"),
            totp_pending: r.get("totp_pending"),
        }))
    })
}

/// Sets an admin's password hash.
pub async fn set_password(conn: &mut Conn, name: &str, hash: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE admins SET password_hash = $1 WHERE name = $2").bind(hash).bind(name).execute(conn).await?;
        Ok(())
    })
}

/// Keeps a TOTP secret being set up (not yet in force).
pub async fn set_totp_pending(conn: &mut Conn, name: &str, secret_hex: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE admins SET totp_pending = $1 WHERE name = $2").bind(secret_hex).bind(name).execute(conn).await?;
        Ok(())
    })
}

/// Puts the secret being set up in force, `step` counted as used.
pub async fn activate_totp(conn: &mut Conn, name: &str, step: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE admins SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 WHERE name = $2")
            .bind(step)
            .bind(name)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Removes an admin's second factor and recovery codes.
pub async fn clear_totp(conn: &mut Conn, name: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE admins SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE name = $1")
            .bind(name)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM admin_recovery_codes WHERE admin = $1").bind(name).execute(conn).await?;
        Ok(())
    })
}

/// Marks time step `step` used, when it is later than the last one used: `false` = replayed.
pub async fn use_totp_step(conn: &mut Conn, name: &str, step: i64) -> Result<bool> {
    super::on_db!(conn, conn => {
        let done = sqlx::query(
            "UPDATE admins SET totp_last_step = $1 WHERE name = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(name)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// Replaces an admin's recovery codes by these hashes.
pub async fn replace_recovery_codes(conn: &mut Conn, name: &str, hashes: &[String]) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM admin_recovery_codes WHERE admin = $1").bind(name).execute(&mut *conn).await?;
        for hash in hashes {
            sqlx::query("INSERT INTO admin_recovery_codes (admin, code_hash) VALUES ($1, $2)")
                .bind(name)
                .bind(hash)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Spends a recovery code: `true` when it existed (it is gone now).
pub async fn use_recovery_code(conn: &mut Conn, name: &str, hash: &str) -> Result<bool> {
    super::on_db!(conn, conn => {
        let done = sqlx::query("DELETE FROM admin_recovery_codes WHERE admin = $1 AND code_hash = $2")
            .bind(name)
            .bind(hash)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// A session or a sign-in waiting for its second factor.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub secret_hash: &'a str,
    pub admin: &'a str,
    pub pending: bool,
    pub csrf: &'a str,
    pub client: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Stores a session; an admin keeps at most `keep` of them (the oldest go).
pub async fn insert_session(conn: &mut Conn, s: NewSession<'_>, keep: u32) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO admin_sessions (id, secret_hash, admin, stage, csrf, client, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id)
        .bind(s.secret_hash)
        .bind(s.admin)
        .bind(if s.pending { "pending" } else { "active" })
        .bind(s.csrf)
        .bind(s.client)
        .bind(s.now)
        .bind(s.now)
        .bind(s.expires_at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM admin_sessions WHERE admin = $1 AND id NOT IN
                 (SELECT id FROM admin_sessions WHERE admin = $1 ORDER BY created_at DESC, id LIMIT $2)",
        )
        .bind(s.admin)
        .bind(i64::from(keep))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// A stored session with its admin.
pub struct SessionRow {
    pub id: String,
    pub pending: bool,
    pub csrf: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub admin: Admin,
}

/// The session whose secret hashes to `secret_hash`.
pub async fn session(conn: &mut Conn, secret_hash: &str) -> Result<Option<SessionRow>> {
    super::on_db!(conn, conn => {
        let row = sqlx::query(concat!(
            "SELECT s.id, s.stage, s.csrf, s.last_seen_at, s.expires_at, ",
            admin_columns!("a."),
            " FROM admin_sessions s JOIN admins a ON a.name = s.admin WHERE s.secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| {
            let stage: String = r.get("stage");
            SessionRow {
                id: r.get("id"),
                pending: stage == "pending",
                csrf: r.get("csrf"),
                last_seen_at: r.get("last_seen_at"),
                expires_at: r.get("expires_at"),
                admin: super::admins::admin_from_row(&r),
            }
        }))
    })
}

/// Records that session `id` was used `at` (on its own connection from the pool).
pub async fn touch_session(pool: &Pool, id: &str, at: i64) -> Result<()> {
    super::on_pool!(pool, p => sqlx::query("UPDATE admin_sessions SET last_seen_at = $1 WHERE id = $2").bind(at).bind(id).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Counts a wrong code against a waiting sign-in; returns the tries so far.
pub async fn count_attempt(conn: &mut Conn, id: &str) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("UPDATE admin_sessions SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
            .bind(id)
            .fetch_one(conn)
            .await?)
    })
}

/// Deletes session `id`.
pub async fn delete_session(conn: &mut Conn, id: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM admin_sessions WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Deletes every session of `admin`; returns how many there were.
pub async fn delete_sessions_of(conn: &mut Conn, admin: &str) -> Result<u64> {
    super::on_db!(conn, conn => {
        let done = sqlx::query("DELETE FROM admin_sessions WHERE admin = $1").bind(admin).execute(conn).await?;
        Ok(done.rows_affected())
    })
}

/// Deletes the sessions of admins without a second factor; returns how many there were.
pub async fn delete_sessions_without_two_factor(conn: &mut Conn) -> Result<u64> {
    super::on_db!(conn, conn => {
        let done =
            sqlx::query("DELETE FROM admin_sessions WHERE admin IN (SELECT name FROM admins WHERE totp_secret IS NULL)")
                .execute(conn)
                .await?;
        Ok(done.rows_affected())
    })
}

/// Deletes sessions past their absolute end.
pub async fn delete_ended_sessions(conn: &mut Conn, now: i64) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1").bind(now).execute(conn).await?;
        Ok(())
    })
}

/// Failed sign-ins since `since` for the name and for the client.
pub async fn failures(conn: &mut Conn, name: &str, client: &str, since: i64) -> Result<(i64, i64)> {
    super::on_db!(conn, conn => {
        let by_name: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_sign_in_failures WHERE name = $1 AND at >= $2")
            .bind(name)
            .bind(since)
            .fetch_one(&mut *conn)
            .await?;
        let by_client: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_sign_in_failures WHERE client = $1 AND at >= $2")
            .bind(client)
            .bind(since)
            .fetch_one(conn)
            .await?;
        Ok((by_name, by_client))
    })
}

/// Records a failed sign-in; forgets those before `forget_before`, and keeps at most `keep`.
pub async fn record_failure(
    conn: &mut Conn,
    name: &str,
    client: &str,
    at: i64,
    forget_before: i64,
    keep: i64,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO admin_sign_in_failures (name, client, at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(client)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "DELETE FROM admin_sign_in_failures WHERE at < $1
                 OR id <= (SELECT max(id) FROM admin_sign_in_failures) - $2",
        )
        .bind(forget_before)
        .bind(keep)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Forgets the failed sign-ins of a name (after it signed in).
pub async fn clear_failures(conn: &mut Conn, name: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM admin_sign_in_failures WHERE name = $1").bind(name).execute(conn).await?;
        Ok(())
    })
}

/// The sign-in policy.
pub async fn policy(conn: &mut Conn) -> Result<SignInPolicy> {
    super::on_db!(conn, conn => {
        let r = sqlx::query("SELECT require_two_factor, idle_minutes, absolute_minutes FROM sign_in_policy WHERE id = 1")
            .fetch_one(conn)
            .await?;
        Ok(SignInPolicy {
            require_two_factor: r.get("require_two_factor"),
            idle_minutes: u32::try_from(r.get::<i64, _>("idle_minutes")).unwrap_or(30),
            absolute_minutes: u32::try_from(r.get::<i64, _>("absolute_minutes")).unwrap_or(720),
        })
    })
}

/// Replaces the sign-in policy.
pub async fn set_policy(conn: &mut Conn, p: &SignInPolicy) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "UPDATE sign_in_policy SET require_two_factor = $1, idle_minutes = $2, absolute_minutes = $3 WHERE id = 1",
        )
        .bind(p.require_two_factor)
        .bind(i64::from(p.idle_minutes))
        .bind(i64::from(p.absolute_minutes))
        .execute(conn)
        .await?;
        Ok(())
    })
}
