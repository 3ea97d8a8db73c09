//! Admin users and their API tokens.

use sqlx::Row;

use super::{Conn, Pool};
use crate::Result;
use crate::model::{Admin, ApiToken, Page, Role};

pub fn admin_from_row(r: &impl super::DbRow) -> Admin {
    let role: String = r.get("role");
    let pages: String = r.get("pages");
    let domains: Option<String> = r.get("domains");
    Admin {
        name: r.get("name"),
        role: Role::parse(&role).unwrap_or(Role::Helpdesk),
        pages: serde_json::from_str(&pages).unwrap_or_default(),
        domains: domains.and_then(|d| serde_json::from_str(&d).ok()),
        created_at: r.get("created_at"),
        password_set: r.get("password_set"),
        two_factor: r.get("two_factor"),
    }
}

/// The columns `admin_from_row` reads (of `admins` aliased as `a`, or unaliased).
macro_rules! admin_columns {
    ($p:literal) => {
        concat!(
            $p,
            "name, ",
            $p,
            "role, ",
            $p,
            "pages, ",
            $p,
            "domains, ",
            $p,
            "created_at, ",
            $p,
            "password_hash IS NOT NULL AS password_set, ",
            $p,
            "totp_secret IS NOT NULL AS two_factor"
        )
    };
}
pub(crate) use admin_columns;

fn token_from_row(r: &impl super::DbRow) -> ApiToken {
    ApiToken {
        id: r.get("id"),
        admin: r.get("admin"),
        label: r.get("label"),
        created_at: r.get("created_at"),
        last_used_at: r.get("last_used_at"),
        expires_at: r.get("expires_at"),
    }
}

/// The admin named `name`, if any.
pub async fn load(conn: &mut Conn, name: &str) -> Result<Option<Admin>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(concat!("SELECT ", admin_columns!(""), " FROM admins WHERE name = $1"))
            .bind(name)
            .fetch_optional(conn)
            .await?
            .map(|r| admin_from_row(&r)))
    })
}

/// Every admin, by name.
pub async fn list(conn: &mut Conn, after: &str, limit: u32) -> Result<Vec<Admin>> {
    super::on_db!(conn, conn => {
        // Keyset paging by name: the same cost at any depth.
        let rows = sqlx::query(concat!("SELECT ", admin_columns!(""), " FROM admins WHERE name > $1 ORDER BY name LIMIT $2"))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
        Ok(rows.iter().map(admin_from_row).collect())
    })
}

/// How many admins there are.
pub async fn count(conn: &mut Conn) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM admins").fetch_one(conn).await?)
    })
}

/// How many owners there are.
pub async fn owner_count(conn: &mut Conn) -> Result<i64> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query_scalar("SELECT count(*) FROM admins WHERE role = 'owner'").fetch_one(conn).await?)
    })
}

/// Inserts an admin created `at`.
pub async fn insert(
    conn: &mut Conn,
    name: &str,
    role: Role,
    pages: &[Page],
    domains: &Option<Vec<String>>,
    at: &str,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("INSERT INTO admins (name, role, pages, domains, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(name)
            .bind(role.as_str())
            .bind(serde_json::to_string(pages)?)
            .bind(domains.as_ref().map(serde_json::to_string).transpose()?)
            .bind(at)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Sets an admin's role, pages and domains.
pub async fn update(
    conn: &mut Conn,
    name: &str,
    role: Role,
    pages: &[Page],
    domains: &Option<Vec<String>>,
) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE admins SET role = $1, pages = $2, domains = $3 WHERE name = $4")
            .bind(role.as_str())
            .bind(serde_json::to_string(pages)?)
            .bind(domains.as_ref().map(serde_json::to_string).transpose()?)
            .bind(name)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Deletes an admin.
pub async fn delete(conn: &mut Conn, name: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM admins WHERE name = $1").bind(name).execute(conn).await?;
        Ok(())
    })
}

/// Inserts a token (its secret's hash only) created `at`; returns it as stored.
pub async fn insert_token(
    conn: &mut Conn,
    id: &str,
    admin: &str,
    secret_hash: &str,
    label: &str,
    at: &str,
    expires_at: Option<&str>,
) -> Result<ApiToken> {
    super::on_db!(conn, conn => {
        sqlx::query(
            "INSERT INTO api_tokens (id, admin, secret_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(admin)
        .bind(secret_hash)
        .bind(label)
        .bind(at)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
        let row = sqlx::query("SELECT id, admin, label, created_at, last_used_at, expires_at FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?;
        Ok(token_from_row(&row))
    })
}

/// The token `id`, if any.
pub async fn token(conn: &mut Conn, id: &str) -> Result<Option<ApiToken>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query("SELECT id, admin, label, created_at, last_used_at, expires_at FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .map(|r| token_from_row(&r)))
    })
}

/// The tokens of `admin` (of everyone when `None`), oldest first.
pub async fn tokens(
    conn: &mut Conn,
    admin: Option<&str>,
    after: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<ApiToken>> {
    super::on_db!(conn, conn => {
        // Keyset paging on (created_at, id): the same cost at any depth.
        let rows = sqlx::query(
            "SELECT id, admin, label, created_at, last_used_at, expires_at FROM api_tokens
         WHERE ($1 IS NULL OR admin = $1) AND ($2 IS NULL OR (created_at, id) > ($2, $3))
         ORDER BY created_at, id LIMIT $4",
        )
        .bind(admin)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
        Ok(rows.iter().map(token_from_row).collect())
    })
}

/// Sets when the token `id` ends (tests move it into the past).
#[doc(hidden)]
pub async fn set_token_expiry(conn: &mut Conn, id: &str, expires_at: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2").bind(expires_at).bind(id).execute(conn).await?;
        Ok(())
    })
}

/// Deletes the token `id`.
pub async fn delete_token(conn: &mut Conn, id: &str) -> Result<()> {
    super::on_db!(conn, conn => {
        sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    })
}

/// A token found by its secret's hash: its id, when it was last used, and its admin.
pub struct TokenOwner {
    pub id: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub admin: Admin,
}

/// The token whose secret hashes to `secret_hash`, with its admin.
pub async fn token_by_secret(conn: &mut Conn, secret_hash: &str) -> Result<Option<TokenOwner>> {
    super::on_db!(conn, conn => {
        Ok(sqlx::query(concat!(
            "SELECT t.id, t.last_used_at, t.expires_at, ",
            admin_columns!("a."),
            " FROM api_tokens t JOIN admins a ON a.name = t.admin WHERE t.secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(conn)
        .await?
        .map(|row| TokenOwner {
            admin: admin_from_row(&row),
            id: row.get("id"),
            last_used_at: row.get("last_used_at"),
            expires_at: row.get("expires_at"),
        }))
    })
}

/// Records that the token `id` was used `at` (on its own connection from the pool).
pub async fn touch_token(pool: &Pool, id: &str, at: &str) -> Result<()> {
    super::on_pool!(pool, p => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(at).bind(id).execute(p).await.map(|_| ()))?;
    Ok(())
}
