//! Domains, their plan limits, and domain groups with per-subsidiary allocations.

use sqlx::{Row, SqliteConnection, sqlite::SqliteRow};

use super::audit::{self, Change};
use super::{LocalBackend, domain_id, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

const SELECT: &str = "SELECT d.name, g.name AS group_name, d.max_accounts, d.mailbox_size_mb,
        d.attachment_size_mb, d.large_attachments, d.created_at, d.account_count
    FROM domains d LEFT JOIN domain_groups g ON g.id = d.group_id";

fn from_row(r: SqliteRow) -> Domain {
    let name: String = r.get("name");
    let (display_name, _) = idna::domain_to_unicode(&name);
    Domain {
        display_name,
        name,
        group: r.get("group_name"),
        limits: PlanLimits {
            max_accounts: r.get::<i64, _>("max_accounts") as u32,
            mailbox_size_mb: r.get::<i64, _>("mailbox_size_mb") as u32,
            attachment_size_mb: r.get::<i64, _>("attachment_size_mb") as u32,
            large_attachments: r.get("large_attachments"),
        },
        account_count: r.get::<i64, _>("account_count") as u32,
        created_at: r.get("created_at"),
    }
}

pub(crate) async fn load(conn: &mut SqliteConnection, domain: &str) -> Result<Domain> {
    sqlx::query(&format!("{SELECT} WHERE d.name = ?"))
        .bind(domain)
        .fetch_optional(conn)
        .await?
        .map(from_row)
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
async fn check_group_allowance(
    conn: &mut SqliteConnection,
    group_id: i64,
    domain: &str,
    allocation: u32,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT g.name, g.max_accounts,
            (SELECT coalesce(sum(max_accounts), 0) FROM domains WHERE group_id = g.id AND name <> ?) AS others
         FROM domain_groups g WHERE g.id = ?",
    )
    .bind(domain)
    .bind(group_id)
    .fetch_one(conn)
    .await?;
    let (name, max, others): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
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
async fn check_not_below_usage(conn: &mut SqliteConnection, domain: &Domain, limits: &PlanLimits) -> Result<()> {
    if limits.max_accounts < domain.account_count {
        return Err(Error::limit_exceeded(format!(
            "{} has {} accounts; the limit cannot go below that",
            domain.name, domain.account_count
        ))
        .with_field("max_accounts"));
    }
    let bigger: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? AND a.quota_mb > ?",
    )
    .bind(&domain.name)
    .bind(limits.mailbox_size_mb)
    .fetch_one(conn)
    .await?;
    if bigger > 0 {
        return Err(Error::limit_exceeded(format!(
            "{bigger} accounts of {} have a quota above {} MiB; lower their quotas first",
            domain.name, limits.mailbox_size_mb
        ))
        .with_field("mailbox_size_mb"));
    }
    Ok(())
}

pub(crate) async fn list(b: &LocalBackend, _: ListDomains) -> Result<Vec<Domain>> {
    if !b.caller.has_page(Page::Domains) && !b.caller.has_page(Page::Accounts) && !b.caller.has_page(Page::Departments)
    {
        return Err(Error::permission_denied(format!("{} may not list domains", b.caller.name)));
    }
    let mut conn = b.engine.read().await?;
    let rows = sqlx::query(&format!("{SELECT} ORDER BY d.name")).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(from_row).filter(|d| b.caller.covers_domain(&d.name)).collect())
}

pub(crate) async fn get(b: &LocalBackend, p: GetDomain) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, Some(&name), false)?;
    load(&mut *b.engine.read().await?, &name).await
}

pub(crate) async fn create(b: &LocalBackend, p: CreateDomain) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, None, true)?;
    let limits = p.limits.unwrap_or_default();
    check_limits(&limits)?;
    let mut tx = b.engine.write().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM domains WHERE name = ?").bind(&name).fetch_optional(&mut *tx).await?;
    if exists.is_some() {
        return Err(Error::conflict(format!("domain {name} already exists")).with_field("domain"));
    }
    let group_id = match &p.group {
        None => None,
        Some(group) => {
            let id: i64 = sqlx::query_scalar("SELECT id FROM domain_groups WHERE name = ?")
                .bind(group.trim())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::not_found(format!("domain group {group} does not exist")).with_field("group"))?;
            check_group_allowance(&mut tx, id, &name, limits.max_accounts).await?;
            Some(id)
        }
    };
    sqlx::query(
        "INSERT INTO domains (name, group_id, max_accounts, mailbox_size_mb, attachment_size_mb, large_attachments, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&name)
    .bind(group_id)
    .bind(limits.max_accounts)
    .bind(limits.mailbox_size_mb)
    .bind(limits.attachment_size_mb)
    .bind(limits.large_attachments)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let domain = load(&mut tx, &name).await?;
    let change = Change { action: CreateDomain::NAME, domain: Some(&name), target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&domain)).await?;
    tx.commit().await?;
    Ok(domain)
}

pub(crate) async fn update_limits(b: &LocalBackend, p: UpdateDomainLimits) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    // Plan limits are the vendor's (owner's) business, not a domain admin's.
    b.caller.require(Page::Domains, None, true)?;
    check_limits(&p.limits)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    check_not_below_usage(&mut tx, &before, &p.limits).await?;
    let group_id: Option<i64> =
        sqlx::query_scalar("SELECT group_id FROM domains WHERE name = ?").bind(&name).fetch_one(&mut *tx).await?;
    if let Some(group_id) = group_id {
        check_group_allowance(&mut tx, group_id, &name, p.limits.max_accounts).await?;
    }
    sqlx::query(
        "UPDATE domains SET max_accounts = ?, mailbox_size_mb = ?, attachment_size_mb = ?, large_attachments = ? WHERE name = ?",
    )
    .bind(p.limits.max_accounts)
    .bind(p.limits.mailbox_size_mb)
    .bind(p.limits.attachment_size_mb)
    .bind(p.limits.large_attachments)
    .bind(&name)
    .execute(&mut *tx)
    .await?;
    let after = load(&mut tx, &name).await?;
    let change = Change { action: UpdateDomainLimits::NAME, domain: Some(&name), target: &name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.limits), Some(&after.limits)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn allocate(b: &LocalBackend, p: AllocateAccounts) -> Result<Domain> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, Some(&name), true)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    let Some(group) = before.group.clone() else {
        return Err(Error::validation(format!(
            "{name} is not a subsidiary of a domain group; change its plan limits instead"
        ))
        .with_field("domain"));
    };
    // The group admin covers every subsidiary; a subsidiary's own admin may not grow itself.
    let siblings: Vec<String> =
        sqlx::query_scalar("SELECT d.name FROM domains d JOIN domain_groups g ON g.id = d.group_id WHERE g.name = ?")
            .bind(&group)
            .fetch_all(&mut *tx)
            .await?;
    if let Some(outside) = siblings.iter().find(|d| !b.caller.covers_domain(d)) {
        return Err(Error::permission_denied(format!(
            "allocating accounts in group {group} needs access to all its domains; {} may not manage {outside}",
            b.caller.name
        )));
    }
    let limits = PlanLimits { max_accounts: p.max_accounts, ..before.limits.clone() };
    check_not_below_usage(&mut tx, &before, &limits).await?;
    let group_id: i64 =
        sqlx::query_scalar("SELECT id FROM domain_groups WHERE name = ?").bind(&group).fetch_one(&mut *tx).await?;
    check_group_allowance(&mut tx, group_id, &name, p.max_accounts).await?;
    sqlx::query("UPDATE domains SET max_accounts = ? WHERE name = ?")
        .bind(p.max_accounts)
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    let after = load(&mut tx, &name).await?;
    let change = Change { action: AllocateAccounts::NAME, domain: Some(&name), target: &name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.limits), Some(&after.limits)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove(b: &LocalBackend, p: RemoveDomain) -> Result<()> {
    let name = validate::domain(&p.domain)?;
    b.caller.require(Page::Domains, None, true)?;
    let mut tx = b.engine.write().await?;
    let before = load(&mut tx, &name).await?;
    let id = domain_id(&mut tx, &name).await?;
    let used: i64 =
        sqlx::query_scalar("SELECT count(*) FROM addresses WHERE domain_id = ?").bind(id).fetch_one(&mut *tx).await?;
    if used > 0 {
        return Err(Error::conflict(format!(
            "{name} still has {used} addresses (accounts, aliases or groups, including deleted accounts); remove them first"
        )));
    }
    sqlx::query("DELETE FROM pickup_rules WHERE domain_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM departments WHERE domain_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM dkim_keys WHERE domain_id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM domains WHERE id = ?").bind(id).execute(&mut *tx).await?;
    let change = Change { action: RemoveDomain::NAME, domain: Some(&name), target: &name };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

async fn load_group(conn: &mut SqliteConnection, name: &str) -> Result<DomainGroup> {
    let row = sqlx::query("SELECT id, name, max_accounts FROM domain_groups WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found(format!("domain group {name} does not exist")))?;
    let id: i64 = row.get("id");
    let domains: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, max_accounts FROM domains WHERE group_id = ? ORDER BY name")
            .bind(id)
            .fetch_all(conn)
            .await?;
    Ok(DomainGroup {
        name: row.get("name"),
        max_accounts: row.get::<i64, _>("max_accounts") as u32,
        allocated: domains.iter().map(|(_, n)| *n as u32).sum(),
        domains: domains.into_iter().map(|(d, _)| d).collect(),
    })
}

pub(crate) async fn list_groups(b: &LocalBackend, _: ListDomainGroups) -> Result<Vec<DomainGroup>> {
    b.caller.require_page(Page::Domains)?;
    let mut conn = b.engine.read().await?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM domain_groups ORDER BY name").fetch_all(&mut *conn).await?;
    let mut groups = Vec::with_capacity(names.len());
    for name in names {
        let group = load_group(&mut conn, &name).await?;
        // A limited admin sees the groups whose subsidiaries it manages.
        if b.caller.domains.is_none() || group.domains.iter().any(|d| b.caller.covers_domain(d)) {
            groups.push(group);
        }
    }
    Ok(groups)
}

pub(crate) async fn create_group(b: &LocalBackend, p: CreateDomainGroup) -> Result<DomainGroup> {
    b.caller.require(Page::Domains, None, true)?;
    let name = validate::text("name", &p.name, 64)?;
    if name.is_empty() {
        return Err(Error::validation("domain group name is empty").with_field("name"));
    }
    let mut tx = b.engine.write().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM domain_groups WHERE name = ?").bind(&name).fetch_optional(&mut *tx).await?;
    if exists.is_some() {
        return Err(Error::conflict(format!("domain group {name} already exists")).with_field("name"));
    }
    sqlx::query("INSERT INTO domain_groups (name, max_accounts) VALUES (?, ?)")
        .bind(&name)
        .bind(p.max_accounts)
        .execute(&mut *tx)
        .await?;
    let group = load_group(&mut tx, &name).await?;
    let change = Change { action: CreateDomainGroup::NAME, domain: None, target: &name };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&group)).await?;
    tx.commit().await?;
    Ok(group)
}
