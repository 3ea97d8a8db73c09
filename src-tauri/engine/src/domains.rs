//! Domains, their plan limits, and domain groups with per-subsidiary allocations.

use super::audit::{self, Change};
use super::{EngineBackend, domain_id, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::sql::{self, Conn};
use crate::validate;

pub(crate) async fn load(conn: &mut Conn, domain: &str) -> Result<Domain> {
    sql::domains::by_name(conn, domain)
        .await?
        .ok_or_else(|| Error::not_found(format!("domain {domain} does not exist")).with_field("domain"))
}

fn check_limits(limits: &PlanLimits) -> Result<()> {
    if limits.mailbox_size_mb == 0 {
        return Err(Error::validation("mailbox size must be at least 1 MiB").with_field("mailbox_size_mb"));
    }
    if limits.attachment_size_mb == 0 {
        return Err(Error::validation("attachment size must be at least 1 MiB").with_field("attachment_size_mb"));
    }
    Ok(())
}

/// Refuses an allocation that would take the group's allocations past its allowance.
async fn check_group_allowance(conn: &mut Conn, group_id: i64, domain: &str, allocation: u32) -> Result<()> {
    let (name, max, others) = sql::domains::group_allocation(conn, group_id, domain).await?;
    if others + i64::from(allocation) > max {
        return Err(Error::limit_exceeded(format!(
            "domain group {name} may allocate {max} accounts and {others} are allocated to other subsidiaries, \
             so {domain} can get at most {}",
            (max - others).max(0)
        ))
        .with_field("max_accounts"));
    }
    Ok(())
}

/// Refuses limits below what the domain already uses.
async fn check_not_below_usage(conn: &mut Conn, domain: &Domain, limits: &PlanLimits) -> Result<()> {
    if limits.max_accounts < domain.account_count {
        return Err(Error::limit_exceeded(format!(
            "{} has {} accounts; the limit cannot go below that",
            domain.name, domain.account_count
        ))
        .with_field("max_accounts"));
    }
    let bigger = sql::domains::quotas_above(conn, &domain.name, limits.mailbox_size_mb).await?;
    if bigger > 0 {
        return Err(Error::limit_exceeded(format!(
            "{bigger} accounts of {} have a quota above {} MiB; lower their quotas first",
            domain.name, limits.mailbox_size_mb
        ))
        .with_field("mailbox_size_mb"));
    }
    Ok(())
}

pub(crate) async fn list(b: &EngineBackend, p: ListDomains) -> Result<CursorPage<Domain>> {
    if !b.caller.has_page(Page::Domains) && !b.caller.has_page(Page::Accounts) && !b.caller.has_page(Page::Departments)
    {
        return Err(Error::permission_denied(format!("{} may not list domains", b.caller.name)));
    }
    let limit = page_limit(p.limit)?;
    let scope = scope_json(b)?;
    let mut conn = b.engine.read().await?;
    // One more than the page, to know whether another follows.
    let rows = sql::domains::page(&mut conn, scope.as_deref(), p.after.as_deref().unwrap_or(""), limit + 1).await?;
    Ok(page_of(rows, limit, |d| d.name.clone()))
}

/// The caller's domain scope as a JSON array for the listings' SQL; `None`: every domain.
fn scope_json(b: &EngineBackend) -> Result<Option<String>> {
    match (&b.caller.role, &b.caller.domains) {
        (Role::Owner, _) | (_, None) => Ok(None),
        (_, Some(list)) => Ok(Some(serde_json::to_string(list)?)),
    }
}

pub(crate) async fn get(b: &EngineBackend, p: GetDomain) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, Some(&name))?;
    load(&mut *b.engine.read().await?, &name).await
}

pub(crate) async fn create(b: &EngineBackend, p: CreateDomain) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, None)?;
    let limits = p.limits.unwrap_or_default();
    check_limits(&limits)?;
    let mut tx = b.engine.write().await?;
    let exists = sql::domains::id_by_name(&mut tx, &name).await?;
    if exists.is_some() {
        return Err(Error::conflict(format!("domain {name} already exists")).with_field("domain"));
    }
    let group_id = match &p.group {
        None => None,
        Some(group) => {
            let id = sql::domains::group_id_by_name(&mut tx, group.trim())
                .await?
                .ok_or_else(|| Error::not_found(format!("domain group {group} does not exist")).with_field("group"))?;
            check_group_allowance(&mut tx, id, &name, limits.max_accounts).await?;
            Some(id)
        }
    };
    sql::domains::insert(&mut tx, &name, group_id, &limits, now()).await?;
    let domain = load(&mut tx, &name).await?;
    let change = Change { action: CreateDomain::NAME, domain: Some(&name), target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&domain)).await?;
    tx.commit().await?;
    Ok(domain)
}

pub(crate) async fn update_limits(b: &EngineBackend, p: UpdateDomainLimits) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    // Plan limits are the vendor's (owner's) business, not a domain admin's.
    b.caller.require(Page::Domains, None)?;
    check_limits(&p.limits)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    check_not_below_usage(&mut tx, &before, &p.limits).await?;
    let group_id = sql::domains::group_of(&mut tx, &name).await?;
    if let Some(group_id) = group_id {
        check_group_allowance(&mut tx, group_id, &name, p.limits.max_accounts).await?;
    }
    sql::domains::set_limits(&mut tx, &name, &p.limits).await?;
    let after = load(&mut tx, &name).await?;
    let change = Change { action: UpdateDomainLimits::NAME, domain: Some(&name), target: &name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.limits), Some(&after.limits)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn allocate(b: &EngineBackend, p: AllocateAccounts) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, Some(&name))?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    let Some(group) = before.group.clone() else {
        return Err(Error::validation(format!(
            "{name} is not a subsidiary of a domain group; change its plan limits instead"
        ))
        .with_field("domain"));
    };
    // The group admin covers every subsidiary; a subsidiary's own admin may not grow itself.
    let siblings = sql::domains::group_domain_names(&mut tx, &group).await?;
    if let Some(outside) = siblings.iter().find(|d| !b.caller.covers_domain(d)) {
        return Err(Error::permission_denied(format!(
            "allocating accounts in group {group} needs access to all its domains; {} may not manage {outside}",
            b.caller.name
        )));
    }
    let limits = PlanLimits { max_accounts: p.max_accounts, ..before.limits.clone() };
    check_not_below_usage(&mut tx, &before, &limits).await?;
    let group_id = sql::domains::group_id(&mut tx, &group).await?;
    check_group_allowance(&mut tx, group_id, &name, p.max_accounts).await?;
    sql::domains::set_max_accounts(&mut tx, &name, p.max_accounts).await?;
    let after = load(&mut tx, &name).await?;
    let change = Change { action: AllocateAccounts::NAME, domain: Some(&name), target: &name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.limits), Some(&after.limits)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveDomain) -> Result<()> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, None)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    let id = domain_id(&mut tx, &name).await?;
    let used = sql::domains::address_count(&mut tx, id).await?;
    if used > 0 {
        return Err(Error::conflict(format!(
            "{name} still has {used} addresses (accounts, aliases or groups, including deleted accounts); remove them first"
        )));
    }
    sql::domains::delete(&mut tx, id).await?;
    let change = Change { action: RemoveDomain::NAME, domain: Some(&name), target: &name };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

async fn load_group(conn: &mut Conn, name: &str) -> Result<DomainGroup> {
    sql::domains::group(conn, name)
        .await?
        .ok_or_else(|| Error::not_found(format!("domain group {name} does not exist")))
}

pub(crate) async fn list_groups(b: &EngineBackend, p: ListDomainGroups) -> Result<CursorPage<DomainGroup>> {
    b.caller.require_page(Page::Domains)?;
    let limit = page_limit(p.limit)?;
    // A limited admin sees the groups whose subsidiaries it manages.
    let scope = scope_json(b)?;
    let mut conn = b.engine.read().await?;
    let mut names =
        sql::domains::group_names(&mut conn, scope.as_deref(), p.after.as_deref().unwrap_or(""), limit + 1).await?;
    let next = if names.len() > limit as usize {
        names.truncate(limit as usize);
        names.last().cloned()
    } else {
        None
    };
    let mut items = Vec::with_capacity(names.len());
    for name in names {
        items.push(load_group(&mut conn, &name).await?);
    }
    Ok(CursorPage { items, next })
}

pub(crate) async fn create_group(b: &EngineBackend, p: CreateDomainGroup) -> Result<DomainGroup> {
    b.caller.require(Page::Domains, None)?;
    let name = validate::text("name", &p.name, 64)?;
    if name.is_empty() {
        return Err(Error::validation("domain group name is empty").with_field("name"));
    }
    let mut tx = b.engine.write().await?;
    let exists = sql::domains::group_id_by_name(&mut tx, &name).await?;
    if exists.is_some() {
        return Err(Error::conflict(format!("domain group {name} already exists")).with_field("name"));
    }
    sql::domains::insert_group(&mut tx, &name, p.max_accounts).await?;
    let group = load_group(&mut tx, &name).await?;
    let change = Change { action: CreateDomainGroup::NAME, domain: None, target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&group)).await?;
    tx.commit().await?;
    Ok(group)
}
