//! Admin users, API tokens and token authentication.
//!
//! A token is `pd_<id>_<secret>`; only its SHA-256 is stored (the secret is 256 random
//! bits, so a slow hash would add nothing). The secret is returned once, at creation.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{Engine, EngineBackend, now};
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

async fn load(conn: &mut Conn, name: &str) -> Result<Admin> {
    sql::admins::load(conn, name)
        .await?
        .ok_or_else(|| Error::not_found(format!("admin {name} does not exist")).with_field("name"))
}

/// Canonical pages and domains for a role; domains must exist.
async fn scope(
    conn: &mut Conn,
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

pub(crate) async fn list(b: &EngineBackend, p: ListAdmins) -> Result<CursorPage<Admin>> {
    b.caller.require_owner()?;
    let limit = page_limit(p.limit)?;
    // One more than the page, to know whether another follows.
    let rows = sql::admins::list(&mut *b.engine.read().await?, p.after.as_deref().unwrap_or(""), limit + 1).await?;
    Ok(page_of(rows, limit, |a| a.name.clone()))
}

pub(crate) async fn create(b: &EngineBackend, p: CreateAdmin) -> Result<Admin> {
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
    sql::admins::insert(&mut tx, &name, p.role, &pages, &domains, &now()).await?;
    let admin = load(&mut tx, &name).await?;
    let change = Change { action: CreateAdmin::NAME, domain: None, target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&admin)).await?;
    tx.commit().await?;
    Ok(admin)
}

pub(crate) async fn update(b: &EngineBackend, p: UpdateAdmin) -> Result<Admin> {
    b.caller.require_owner()?;
    let name = validate::admin_name(&p.name)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    if before.role == Role::Owner && p.role != Role::Owner && sql::admins::owner_count(&mut tx).await? <= 1 {
        return Err(Error::conflict(format!("{name} is the last owner; make another owner first")).with_field("role"));
    }
    let (pages, domains) = scope(&mut tx, p.role, p.pages, p.domains).await?;
    sql::admins::update(&mut tx, &name, p.role, &pages, &domains).await?;
    let after = load(&mut tx, &name).await?;
    let change = Change { action: UpdateAdmin::NAME, domain: None, target: &name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveAdmin) -> Result<()> {
    b.caller.require_owner()?;
    let name = validate::admin_name(&p.name)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    if before.role == Role::Owner && sql::admins::owner_count(&mut tx).await? <= 1 {
        return Err(Error::conflict(format!("{name} is the last owner and cannot be removed")));
    }
    sql::admins::delete(&mut tx, &name).await?;
    let change = Change { action: RemoveAdmin::NAME, domain: None, target: &name };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

async fn insert_token(conn: &mut Conn, admin: &str, label: &str, expires_at: Option<&str>) -> Result<NewToken> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut id);
    rand::thread_rng().fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = format!("pd_{id}_{}", hex::encode(secret));
    let token = sql::admins::insert_token(conn, &id, admin, &secret_hash(&secret), label, &now(), expires_at).await?;
    Ok(NewToken { token, secret })
}

pub(crate) async fn list_tokens(b: &EngineBackend, p: ListTokens) -> Result<CursorPage<ApiToken>> {
    // An owner sees every token; any other admin only its own (to see when they expire).
    let admin = if b.caller.require_owner().is_ok() {
        p.admin
    } else {
        match p.admin {
            Some(other) if other.trim() != b.caller.name => {
                return Err(Error::permission_denied(format!(
                    "only an owner may list another admin's tokens; {} sees its own",
                    b.caller.name
                ))
                .with_field("admin"));
            }
            _ => Some(b.caller.name.clone()),
        }
    };
    let limit = page_limit(p.limit)?;
    let after = pair_cursor(p.after.as_deref())?;
    let after = after.as_ref().map(|(at, id)| (at.as_str(), id.as_str()));
    let rows = sql::admins::tokens(&mut *b.engine.read().await?, admin.as_deref(), after, limit + 1).await?;
    Ok(page_of(rows, limit, |t| format!("{} {}", t.created_at, t.id)))
}

pub(crate) async fn create_token(b: &EngineBackend, p: CreateToken) -> Result<NewToken> {
    b.caller.require_owner()?;
    let admin = validate::admin_name(&p.admin).map_err(|e| e.with_field("admin"))?;
    let label = validate::text("label", p.label.as_deref().unwrap_or(""), 128)?;
    let expires_at = match p.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => {
            Some(super::format_time(time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days))))
        }
        Some(_) => {
            return Err(Error::validation("a token may last 1 to 3650 days").with_field("expires_in_days"));
        }
    };
    let mut tx = b.engine.write().await?;
    load(&mut tx, &admin).await.map_err(|e| e.with_field("admin"))?;
    let token = insert_token(&mut tx, &admin, &label, expires_at.as_deref()).await?;
    let change = Change { action: CreateToken::NAME, domain: None, target: &token.token.id };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&token.token)).await?;
    tx.commit().await?;
    Ok(token)
}

pub(crate) async fn revoke_token(b: &EngineBackend, p: RevokeToken) -> Result<()> {
    let mut tx = b.engine.write().await?;
    let before = sql::admins::token(&mut tx, p.id.trim())
        .await?
        .ok_or_else(|| Error::not_found(format!("token {} does not exist", p.id.trim())).with_field("id"))?;
    // An owner revokes any token, every other admin only its own.
    if before.admin != b.caller.name {
        b.caller.require_owner()?;
    }
    sql::admins::delete_token(&mut tx, &before.id).await?;
    let change = Change { action: RevokeToken::NAME, domain: None, target: &before.id };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

/// The successor of one of the caller's own tokens: same admin and label, the lifetime asked
/// for or the old one's, a new secret. The old token is left alone (the client revokes it once
/// it has stored the new secret), so a lost answer never locks the caller out.
pub(crate) async fn rotate_own_token(b: &EngineBackend, p: RotateOwnToken) -> Result<NewToken> {
    let id = p.id.trim();
    let mut tx = b.engine.write().await?;
    let old = sql::admins::token(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("token {id} does not exist")).with_field("id"))?;
    if old.admin != b.caller.name {
        // An owner makes tokens for others with create_token; rotation is for one's own.
        return Err(Error::permission_denied(format!(
            "token {id} is not one of {}'s tokens; only its own tokens can be rotated",
            b.caller.name
        ))
        .with_field("id"));
    }
    let now_t = time::OffsetDateTime::now_utc();
    let days = match (p.expires_in_days, &old.expires_at) {
        (Some(days @ 1..=3650), _) => Some(days),
        (Some(_), _) => {
            return Err(Error::validation("a token may last 1 to 3650 days").with_field("expires_in_days"));
        }
        (None, None) => None,
        (None, Some(expires)) => {
            let lifetime = super::parse_time(expires)? - super::parse_time(&old.created_at)?;
            // Whole days, rounded up, within what create_token allows.
            let days = (lifetime.whole_seconds() + 86_399) / 86_400;
            Some(u32::try_from(days.clamp(1, 3650)).unwrap_or(1))
        }
    };
    let expires_at = days.map(|d| super::format_time(now_t + time::Duration::days(i64::from(d))));
    let token = insert_token(&mut tx, &old.admin, &old.label, expires_at.as_deref()).await?;
    let change = Change { action: RotateOwnToken::NAME, domain: None, target: &token.token.id };
    audit::record(&mut tx, &b.caller.name, change, Some(&old), Some(&token.token)).await?;
    tx.commit().await?;
    Ok(token)
}

impl Engine {
    /// On the first start (no admins yet) creates the owner `owner` and a first token,
    /// returned so it can be shown once; later starts return `None`.
    pub async fn ensure_first_admin(&self) -> Result<Option<FirstStart>> {
        let mut tx = self.write().await?;
        let admins = sql::admins::count(&mut tx).await?;
        if admins > 0 {
            return Ok(None);
        }
        sql::admins::insert(&mut tx, "owner", Role::Owner, &Page::ALL, &None, &now()).await?;
        let admin = load(&mut tx, "owner").await?;
        let token = insert_token(&mut tx, "owner", "created on first start", None).await?;
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
        let sql::admins::TokenOwner { id, last_used_at: last_used, expires_at, admin } =
            sql::admins::token_by_secret(&mut conn, &secret_hash(secret)).await?.ok_or_else(wrong)?;
        drop(conn);
        let now = now();
        // Stored times are RFC 3339 UTC of one shape, so they compare as text.
        if expires_at.as_deref().is_some_and(|end| end <= now.as_str()) {
            return Err(Error::unauthenticated("the API token has expired; ask the owner for a new one"));
        }
        // Record use at minute granularity so reads do not turn into a write each.
        if last_used.as_deref().is_none_or(|t| t.get(..16) != now.get(..16)) {
            sql::admins::touch_token(&self.pool, &id, &now).await?;
        }
        Ok(Caller { name: admin.name, role: admin.role, pages: admin.pages, domains: admin.domains })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_end_when_they_expire_and_show_when() {
        let engine = Engine::open_in_memory().await.unwrap();
        engine.ensure_first_admin().await.unwrap();
        let owner = engine.local_backend();
        let params = |days| CreateToken { admin: "owner".into(), label: None, expires_in_days: Some(days) };
        let refused = owner.create_token(params(0)).await.unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("expires_in_days"));
        let token = owner.create_token(params(30)).await.unwrap();
        let listed = owner.list_tokens(ListTokens::default()).await.unwrap().items;
        let shown = listed.iter().find(|t| t.id == token.token.id).unwrap();
        assert!(shown.expires_at.as_deref().is_some_and(|e| e > now().as_str()), "{shown:?}");
        assert_eq!(engine.authenticate(&token.secret).await.unwrap().name, "owner");
        let used = owner.list_tokens(ListTokens::default()).await.unwrap().items;
        assert!(used.iter().find(|t| t.id == token.token.id).unwrap().last_used_at.is_some(), "last use shown");
        // Its end comes: refused as unauthenticated, saying why.
        let mut tx = engine.write().await.unwrap();
        sql::admins::set_token_expiry(&mut tx, &token.token.id, "2020-01-01T00:00:00Z").await.unwrap();
        tx.commit().await.unwrap();
        let err = engine.authenticate(&token.secret).await.unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::Unauthenticated);
        assert!(err.message.contains("expired"), "{}", err.message);
    }
}
