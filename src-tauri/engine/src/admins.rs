//! Admin users, API tokens and token authentication.
//!
//! A token is `pd_<id>_<secret>`; only its SHA-256 is stored (the secret is 256 random
//! bits, so a slow hash would add nothing). The secret is returned once, at creation.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection, sqlite::SqliteRow};

use super::audit::{self, Change};
use super::{Engine, LocalBackend, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

/// What the very first start created: the owner and a token to show once.
#[derive(Debug, Clone)]
pub struct FirstStart {
    /// The owner admin created.
    pub admin: Admin,
    /// Its first token (secret included).
    pub token: NewToken,
}

fn admin_from_row(r: &SqliteRow) -> Admin {
    let role: String = r.get("role");
    let pages: String = r.get("pages");
    let domains: Option<String> = r.get("domains");
    Admin {
        name: r.get("name"),
        role: Role::parse(&role).unwrap_or(Role::Helpdesk),
        pages: serde_json::from_str(&pages).unwrap_or_default(),
        domains: domains.and_then(|d| serde_json::from_str(&d).ok()),
        created_at: r.get("created_at"),
    }
}

async fn load(conn: &mut SqliteConnection, name: &str) -> Result<Admin> {
    sqlx::query("SELECT name, role, pages, domains, created_at FROM admins WHERE name = ?")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .map(|r| admin_from_row(&r))
        .ok_or_else(|| Error::not_found(format!("admin {name} does not exist")).with_field("name"))
}

async fn owner_count(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM admins WHERE role = 'owner'").fetch_one(conn).await?)
}

/// Canonical pages and domains for a role; domains must exist.
async fn scope(
    conn: &mut SqliteConnection,
    role: Role,
    pages: Option<Vec<Page>>,
    domains: Option<Vec<String>>,
) -> Result<(Vec<Page>, Option<Vec<String>>)> {
    if role == Role::Owner {
        return Ok((Page::ALL.to_vec(), None));
    }
    let mut pages = pages.unwrap_or_default();
    pages.sort();
    pages.dedup();
    if pages.is_empty() {
        return Err(Error::validation("a sub-admin needs at least one page").with_field("pages"));
    }
    let domains = match domains {
        None => None,
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for d in list {
                let d = validate::domain(&d).map_err(|e| e.with_field("domains"))?;
                super::domain_id(conn, &d).await.map_err(|e| e.with_field("domains"))?;
                if !out.contains(&d) {
                    out.push(d);
                }
            }
            if out.is_empty() {
                return Err(Error::validation("an empty domain list would allow nothing; omit it for all domains")
                    .with_field("domains"));
            }
            Some(out)
        }
    };
    Ok((pages, domains))
}

async fn insert_admin(
    conn: &mut SqliteConnection,
    name: &str,
    role: Role,
    pages: &[Page],
    domains: &Option<Vec<String>>,
) -> Result<()> {
    sqlx::query("INSERT INTO admins (name, role, pages, domains, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(name)
        .bind(role.as_str())
        .bind(serde_json::to_string(pages)?)
        .bind(domains.as_ref().map(serde_json::to_string).transpose()?)
        .bind(now())
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn list(b: &LocalBackend, _: ListAdmins) -> Result<Vec<Admin>> {
    b.caller.require_owner()?;
    let rows = sqlx::query("SELECT name, role, pages, domains, created_at FROM admins ORDER BY name")
        .fetch_all(&mut *b.engine.read().await?)
        .await?;
    Ok(rows.iter().map(admin_from_row).collect())
}

pub(crate) async fn create(b: &LocalBackend, p: CreateAdmin) -> Result<Admin> {
    b.caller.require_owner()?;
    let name = validate::admin_name(&p.name)?;
    if name == super::LOCAL_OWNER {
        return Err(Error::validation(format!("'{name}' is reserved for the local owner")).with_field("name"));
    }
    let mut tx = b.engine.write().await?;
    if load(&mut tx, &name).await.is_ok() {
        return Err(Error::conflict(format!("admin {name} already exists")).with_field("name"));
    }
    let (pages, domains) = scope(&mut tx, p.role, p.pages, p.domains).await?;
    insert_admin(&mut tx, &name, p.role, &pages, &domains).await?;
    let admin = load(&mut tx, &name).await?;
    let change = Change { action: CreateAdmin::NAME, domain: None, target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&admin)).await?;
    tx.commit().await?;
    Ok(admin)
}

pub(crate) async fn update(b: &LocalBackend, p: UpdateAdmin) -> Result<Admin> {
    b.caller.require_owner()?;
    let name = validate::admin_name(&p.name)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    if before.role == Role::Owner && p.role != Role::Owner && owner_count(&mut tx).await? <= 1 {
        return Err(Error::conflict(format!("{name} is the last owner; make another owner first")).with_field("role"));
    }
    let (pages, domains) = scope(&mut tx, p.role, p.pages, p.domains).await?;
    sqlx::query("UPDATE admins SET role = ?, pages = ?, domains = ? WHERE name = ?")
        .bind(p.role.as_str())
        .bind(serde_json::to_string(&pages)?)
        .bind(domains.as_ref().map(serde_json::to_string).transpose()?)
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    let after = load(&mut tx, &name).await?;
    let change = Change { action: UpdateAdmin::NAME, domain: None, target: &name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove(b: &LocalBackend, p: RemoveAdmin) -> Result<()> {
    b.caller.require_owner()?;
    let name = validate::admin_name(&p.name)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    if before.role == Role::Owner && owner_count(&mut tx).await? <= 1 {
        return Err(Error::conflict(format!("{name} is the last owner and cannot be removed")));
    }
    sqlx::query("DELETE FROM admins WHERE name = ?").bind(&name).execute(&mut *tx).await?;
    let change = Change { action: RemoveAdmin::NAME, domain: None, target: &name };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

fn token_from_row(r: &SqliteRow) -> ApiToken {
    ApiToken {
        id: r.get("id"),
        admin: r.get("admin"),
        label: r.get("label"),
        created_at: r.get("created_at"),
        last_used_at: r.get("last_used_at"),
    }
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

async fn insert_token(conn: &mut SqliteConnection, admin: &str, label: &str) -> Result<NewToken> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut id);
    rand::thread_rng().fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = format!("pd_{id}_{}", hex::encode(secret));
    sqlx::query("INSERT INTO api_tokens (id, admin, secret_hash, label, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(admin)
        .bind(secret_hash(&secret))
        .bind(label)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query("SELECT id, admin, label, created_at, last_used_at FROM api_tokens WHERE id = ?")
        .bind(&id)
        .fetch_one(conn)
        .await?;
    Ok(NewToken { token: token_from_row(&row), secret })
}

pub(crate) async fn list_tokens(b: &LocalBackend, p: ListTokens) -> Result<Vec<ApiToken>> {
    b.caller.require_owner()?;
    let rows = sqlx::query(
        "SELECT id, admin, label, created_at, last_used_at FROM api_tokens WHERE ? IS NULL OR admin = ? ORDER BY created_at, id",
    )
    .bind(&p.admin)
    .bind(&p.admin)
    .fetch_all(&mut *b.engine.read().await?)
    .await?;
    Ok(rows.iter().map(token_from_row).collect())
}

pub(crate) async fn create_token(b: &LocalBackend, p: CreateToken) -> Result<NewToken> {
    b.caller.require_owner()?;
    let admin = validate::admin_name(&p.admin).map_err(|e| e.with_field("admin"))?;
    let label = validate::text("label", p.label.as_deref().unwrap_or(""), 128)?;
    let mut tx = b.engine.write().await?;
    load(&mut tx, &admin).await.map_err(|e| e.with_field("admin"))?;
    let token = insert_token(&mut tx, &admin, &label).await?;
    let change = Change { action: CreateToken::NAME, domain: None, target: &token.token.id };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&token.token)).await?;
    tx.commit().await?;
    Ok(token)
}

pub(crate) async fn revoke_token(b: &LocalBackend, p: RevokeToken) -> Result<()> {
    b.caller.require_owner()?;
    let mut tx = b.engine.write().await?;
    let row = sqlx::query("SELECT id, admin, label, created_at, last_used_at FROM api_tokens WHERE id = ?")
        .bind(p.id.trim())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("token {} does not exist", p.id.trim())).with_field("id"))?;
    let before = token_from_row(&row);
    sqlx::query("DELETE FROM api_tokens WHERE id = ?").bind(&before.id).execute(&mut *tx).await?;
    let change = Change { action: RevokeToken::NAME, domain: None, target: &before.id };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

impl Engine {
    /// On the first start (no admins yet) creates the owner `owner` and a first token,
    /// returned so it can be shown once; later starts return `None`.
    pub async fn ensure_first_admin(&self) -> Result<Option<FirstStart>> {
        let mut tx = self.write().await?;
        let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM admins").fetch_one(&mut *tx).await?;
        if admins > 0 {
            return Ok(None);
        }
        insert_admin(&mut tx, "owner", Role::Owner, &Page::ALL, &None).await?;
        let admin = load(&mut tx, "owner").await?;
        let token = insert_token(&mut tx, "owner", "created on first start").await?;
        let change = Change { action: CreateAdmin::NAME, domain: None, target: "owner" };
        audit::record::<(), _>(&mut tx, super::LOCAL_OWNER, change, None, Some(&admin)).await?;
        tx.commit().await?;
        Ok(Some(FirstStart { admin, token }))
    }

    /// The caller a bearer token acts as; `Unauthenticated` for anything unknown.
    pub async fn authenticate(&self, secret: &str) -> Result<Caller> {
        let wrong = || Error::unauthenticated("the API token is not valid (revoked, mistyped or from another backend)");
        if !secret.starts_with("pd_") || secret.len() > 200 {
            return Err(wrong());
        }
        let mut conn = self.read().await?;
        let row = sqlx::query(
            "SELECT t.id, t.last_used_at, a.name, a.role, a.pages, a.domains, a.created_at
             FROM api_tokens t JOIN admins a ON a.name = t.admin WHERE t.secret_hash = ?",
        )
        .bind(secret_hash(secret))
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(wrong)?;
        let admin = admin_from_row(&row);
        let id: String = row.get("id");
        let last_used: Option<String> = row.get("last_used_at");
        drop(conn);
        // Record use at minute granularity so reads do not turn into a write each.
        let now = now();
        if last_used.as_deref().is_none_or(|t| t.get(..16) != now.get(..16)) {
            sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
                .bind(&now)
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Caller { name: admin.name, role: admin.role, pages: admin.pages, domains: admin.domains })
    }
}
