//! The address namespace, distribution aliases, mail groups and address resolution.
//!
//! Every address of ours is registered once in `addresses`, so an address is exactly one
//! of account, account alias, alias or group. Aliases and groups form a graph (alias →
//! targets, group → members); a change that would close a cycle is refused with the
//! cycle spelled out.

use std::collections::{BTreeSet, HashSet, VecDeque};

use sqlx::SqliteConnection;

use super::accounts::{owner_of_alias, status_of};
use super::audit::{self, Change};
use super::{LocalBackend, domain_id};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate::{self, Address};

const MAX_TARGETS: usize = 1000;

/// Claims `address` for something of `kind`, or explains who has it.
pub(crate) async fn register(
    conn: &mut SqliteConnection,
    domain_id: i64,
    address: &str,
    kind: AddressKind,
) -> Result<()> {
    if let Some(existing) = kind_of(conn, address).await? {
        return Err(
            Error::conflict(format!("{address} is already used by {}", existing.describe())).with_field("address")
        );
    }
    sqlx::query("INSERT INTO addresses (address, domain_id, kind) VALUES (?, ?, ?)")
        .bind(address)
        .bind(domain_id)
        .bind(kind.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

async fn kind_of(conn: &mut SqliteConnection, address: &str) -> Result<Option<AddressKind>> {
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM addresses WHERE address = ?").bind(address).fetch_optional(conn).await?;
    Ok(kind.as_deref().and_then(AddressKind::parse))
}

/// The first alias or group that still points at `address`, described for a message.
pub(crate) async fn referenced_by(conn: &mut SqliteConnection, address: &str) -> Result<Option<String>> {
    let alias: Option<String> = sqlx::query_scalar(
        "SELECT a.address FROM alias_targets t JOIN aliases a ON a.id = t.alias_id WHERE t.target = ? LIMIT 1",
    )
    .bind(address)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(alias) = alias {
        return Ok(Some(format!("alias {alias}")));
    }
    let group: Option<String> = sqlx::query_scalar(
        "SELECT g.address FROM group_members m JOIN mail_groups g ON g.id = m.group_id WHERE m.member = ? LIMIT 1",
    )
    .bind(address)
    .fetch_optional(conn)
    .await?;
    Ok(group.map(|g| format!("mail group {g}")))
}

/// Where an alias or group sends mail next (its targets or members).
async fn edges(conn: &mut SqliteConnection, address: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT t.target FROM alias_targets t JOIN aliases a ON a.id = t.alias_id WHERE a.address = ?1
         UNION ALL
         SELECT m.member FROM group_members m JOIN mail_groups g ON g.id = m.group_id WHERE g.address = ?1",
    )
    .bind(address)
    .fetch_all(conn)
    .await?)
}

/// Refuses `subject → new_edges` if any path from them leads back to `subject`.
async fn refuse_loops(conn: &mut SqliteConnection, subject: &str, new_edges: &[String]) -> Result<()> {
    // Depth-first with the path kept, so the error can show the cycle.
    let mut stack: Vec<(String, Vec<String>)> =
        new_edges.iter().map(|t| (t.clone(), vec![subject.to_string(), t.clone()])).collect();
    let mut seen = HashSet::new();
    while let Some((node, path)) = stack.pop() {
        if node == subject {
            return Err(Error::conflict(format!("this would make a loop: {}", path.join(" → "))).with_field("targets"));
        }
        if !seen.insert(node.clone()) {
            continue;
        }
        for next in edges(conn, &node).await? {
            let mut p = path.clone();
            p.push(next.clone());
            stack.push((next, p));
        }
    }
    Ok(())
}

/// Validates a list of target/member addresses: syntax, no duplicates, local ones exist
/// and are within the caller's scope. Returns canonical addresses in input order.
async fn check_targets(
    b: &LocalBackend,
    conn: &mut SqliteConnection,
    field: &str,
    subject: &str,
    list: &[String],
) -> Result<Vec<String>> {
    if list.len() > MAX_TARGETS {
        return Err(Error::validation(format!("at most {MAX_TARGETS} {field}")).with_field(field));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for raw in list {
        let addr = validate::address(raw).map_err(|e| Error { field: Some(field.into()), ..e })?;
        let full = addr.full();
        if full == subject {
            return Err(Error::conflict(format!("{subject} cannot point at itself")).with_field(field));
        }
        if out.contains(&full) {
            continue;
        }
        let ours: Option<i64> = sqlx::query_scalar("SELECT id FROM domains WHERE name = ?")
            .bind(&addr.domain)
            .fetch_optional(&mut *conn)
            .await?;
        if ours.is_some() {
            if !b.caller.covers_domain(&addr.domain) {
                return Err(Error::permission_denied(format!(
                    "{} may not manage domain {}",
                    b.caller.name, addr.domain
                )));
            }
            if kind_of(conn, &full).await?.is_none() {
                return Err(Error::not_found(format!(
                    "{full} does not exist: {} is one of our domains, so it must be an account, alias or group",
                    addr.domain
                ))
                .with_field(field));
            }
        }
        out.push(full);
    }
    Ok(out)
}

fn authorised(b: &LocalBackend, page: Page, address: &str, write: bool) -> Result<Address> {
    let addr = validate::address(address)?;
    b.caller.require(page, Some(&addr.domain), write)?;
    Ok(addr)
}

// ---- aliases -------------------------------------------------------------------------

async fn load_alias(conn: &mut SqliteConnection, address: &str) -> Result<(i64, Alias)> {
    let row: Option<(i64, String)> = sqlx::query_as("SELECT id, description FROM aliases WHERE address = ?")
        .bind(address)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((id, description)) = row else {
        return Err(Error::not_found(format!("alias {address} does not exist")).with_field("address"));
    };
    let targets = sqlx::query_scalar("SELECT target FROM alias_targets WHERE alias_id = ? ORDER BY target")
        .bind(id)
        .fetch_all(conn)
        .await?;
    Ok((id, Alias { address: address.to_string(), targets, description }))
}

pub(crate) async fn list_aliases(b: &LocalBackend, p: ListAliases) -> Result<Vec<Alias>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Aliases, Some(&domain), false)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let addresses: Vec<String> = sqlx::query_scalar("SELECT address FROM aliases WHERE domain_id = ? ORDER BY address")
        .bind(did)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(addresses.len());
    for address in addresses {
        out.push(load_alias(&mut conn, &address).await?.1);
    }
    Ok(out)
}

pub(crate) async fn get_alias(b: &LocalBackend, p: GetAlias) -> Result<Alias> {
    let addr = authorised(b, Page::Aliases, &p.address, false)?;
    Ok(load_alias(&mut *b.engine.read().await?, &addr.full()).await?.1)
}

async fn set_targets(conn: &mut SqliteConnection, alias_id: i64, targets: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM alias_targets WHERE alias_id = ?").bind(alias_id).execute(&mut *conn).await?;
    for t in targets {
        sqlx::query("INSERT INTO alias_targets (alias_id, target) VALUES (?, ?)")
            .bind(alias_id)
            .bind(t)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(crate) async fn create_alias(b: &LocalBackend, p: CreateAlias) -> Result<Alias> {
    let addr = authorised(b, Page::Aliases, &p.address, true)?;
    let address = addr.full();
    let description = validate::text("description", p.description.as_deref().unwrap_or(""), 500)?;
    if p.targets.is_empty() {
        return Err(Error::validation("an alias needs at least one target").with_field("targets"));
    }
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &addr.domain).await?;
    let targets = check_targets(b, &mut tx, "targets", &address, &p.targets).await?;
    register(&mut tx, did, &address, AddressKind::Alias).await?;
    refuse_loops(&mut tx, &address, &targets).await?;
    let id = sqlx::query("INSERT INTO aliases (domain_id, address, description) VALUES (?, ?, ?)")
        .bind(did)
        .bind(&address)
        .bind(&description)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
    set_targets(&mut tx, id, &targets).await?;
    let alias = load_alias(&mut tx, &address).await?.1;
    let change = Change { action: CreateAlias::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&alias)).await?;
    tx.commit().await?;
    Ok(alias)
}

pub(crate) async fn update_alias(b: &LocalBackend, p: UpdateAlias) -> Result<Alias> {
    let addr = authorised(b, Page::Aliases, &p.address, true)?;
    let address = addr.full();
    let description = p.description.as_deref().map(|d| validate::text("description", d, 500)).transpose()?;
    let mut tx = b.engine.write().await?;
    let (id, before) = load_alias(&mut tx, &address).await?;
    if let Some(targets) = &p.targets {
        if targets.is_empty() {
            return Err(Error::validation("an alias needs at least one target").with_field("targets"));
        }
        let targets = check_targets(b, &mut tx, "targets", &address, targets).await?;
        // Check against the graph without this alias's old edges.
        sqlx::query("DELETE FROM alias_targets WHERE alias_id = ?").bind(id).execute(&mut *tx).await?;
        refuse_loops(&mut tx, &address, &targets).await?;
        set_targets(&mut tx, id, &targets).await?;
    }
    if let Some(description) = description {
        sqlx::query("UPDATE aliases SET description = ? WHERE id = ?")
            .bind(description)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let after = load_alias(&mut tx, &address).await?.1;
    let change = Change { action: UpdateAlias::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_alias(b: &LocalBackend, p: RemoveAlias) -> Result<()> {
    let addr = authorised(b, Page::Aliases, &p.address, true)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_alias(&mut tx, &address).await?;
    if let Some(user) = referenced_by(&mut tx, &address).await? {
        return Err(Error::conflict(format!("{address} is still used by {user}; remove it there first")));
    }
    sqlx::query("DELETE FROM aliases WHERE id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM addresses WHERE address = ?").bind(&address).execute(&mut *tx).await?;
    let change = Change { action: RemoveAlias::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- mail groups ---------------------------------------------------------------------

async fn load_group(conn: &mut SqliteConnection, address: &str) -> Result<(i64, MailGroup)> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, send_permission FROM mail_groups WHERE address = ?")
            .bind(address)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((id, name, permission)) = row else {
        return Err(Error::not_found(format!("mail group {address} does not exist")).with_field("address"));
    };
    let members = sqlx::query_scalar("SELECT member FROM group_members WHERE group_id = ? ORDER BY member")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let allowed_senders =
        sqlx::query_scalar("SELECT sender FROM group_allowed_senders WHERE group_id = ? ORDER BY sender")
            .bind(id)
            .fetch_all(conn)
            .await?;
    let send_permission = SendPermission::parse(&permission).unwrap_or(SendPermission::SameDomain);
    Ok((id, MailGroup { address: address.to_string(), name, send_permission, members, allowed_senders }))
}

async fn insert_members(conn: &mut SqliteConnection, group_id: i64, members: &[String]) -> Result<()> {
    for m in members {
        sqlx::query("INSERT OR IGNORE INTO group_members (group_id, member) VALUES (?, ?)")
            .bind(group_id)
            .bind(m)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn set_allowed_senders(conn: &mut SqliteConnection, group_id: i64, senders: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM group_allowed_senders WHERE group_id = ?").bind(group_id).execute(&mut *conn).await?;
    for s in senders {
        sqlx::query("INSERT OR IGNORE INTO group_allowed_senders (group_id, sender) VALUES (?, ?)")
            .bind(group_id)
            .bind(s)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn check_senders(list: &[String]) -> Result<Vec<String>> {
    let set: BTreeSet<String> = list
        .iter()
        .map(|s| validate::address(s).map(|a| a.full()).map_err(|e| e.with_field("allowed_senders")))
        .collect::<Result<_>>()?;
    Ok(set.into_iter().collect())
}

fn group_name(name: &str) -> Result<String> {
    let name = validate::text("name", name, 128)?;
    if name.is_empty() {
        return Err(Error::validation("group name is empty").with_field("name"));
    }
    Ok(name)
}

pub(crate) async fn list_groups(b: &LocalBackend, p: ListGroups) -> Result<Vec<MailGroup>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Groups, Some(&domain), false)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let addresses: Vec<String> =
        sqlx::query_scalar("SELECT address FROM mail_groups WHERE domain_id = ? ORDER BY address")
            .bind(did)
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::with_capacity(addresses.len());
    for address in addresses {
        out.push(load_group(&mut conn, &address).await?.1);
    }
    Ok(out)
}

pub(crate) async fn get_group(b: &LocalBackend, p: GetGroup) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address, false)?;
    Ok(load_group(&mut *b.engine.read().await?, &addr.full()).await?.1)
}

pub(crate) async fn create_group(b: &LocalBackend, p: CreateGroup) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address, true)?;
    let address = addr.full();
    let name = group_name(&p.name)?;
    let senders = check_senders(p.allowed_senders.as_deref().unwrap_or_default())?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &addr.domain).await?;
    let members = check_targets(b, &mut tx, "members", &address, p.members.as_deref().unwrap_or_default()).await?;
    register(&mut tx, did, &address, AddressKind::Group).await?;
    refuse_loops(&mut tx, &address, &members).await?;
    let permission = p.send_permission.unwrap_or(SendPermission::SameDomain);
    let id = sqlx::query("INSERT INTO mail_groups (domain_id, address, name, send_permission) VALUES (?, ?, ?, ?)")
        .bind(did)
        .bind(&address)
        .bind(&name)
        .bind(permission.as_str())
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
    insert_members(&mut tx, id, &members).await?;
    set_allowed_senders(&mut tx, id, &senders).await?;
    let group = load_group(&mut tx, &address).await?.1;
    let change = Change { action: CreateGroup::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&group)).await?;
    tx.commit().await?;
    Ok(group)
}

pub(crate) async fn update_group(b: &LocalBackend, p: UpdateGroup) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address, true)?;
    let address = addr.full();
    let name = p.name.as_deref().map(group_name).transpose()?;
    let senders = p.allowed_senders.as_deref().map(check_senders).transpose()?;
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    sqlx::query(
        "UPDATE mail_groups SET name = coalesce(?, name), send_permission = coalesce(?, send_permission) WHERE id = ?",
    )
    .bind(name)
    .bind(p.send_permission.map(SendPermission::as_str))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if let Some(senders) = senders {
        set_allowed_senders(&mut tx, id, &senders).await?;
    }
    let after = load_group(&mut tx, &address).await?.1;
    if after.send_permission == SendPermission::Whitelist && after.allowed_senders.is_empty() {
        return Err(
            Error::validation("a whitelist group needs at least one allowed sender").with_field("allowed_senders")
        );
    }
    let change = Change { action: UpdateGroup::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn add_group_members(b: &LocalBackend, p: AddGroupMembers) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address, true)?;
    let address = addr.full();
    if p.members.is_empty() {
        return Err(Error::validation("no members given").with_field("members"));
    }
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    let members = check_targets(b, &mut tx, "members", &address, &p.members).await?;
    refuse_loops(&mut tx, &address, &members).await?;
    insert_members(&mut tx, id, &members).await?;
    let after = load_group(&mut tx, &address).await?.1;
    let change = Change { action: AddGroupMembers::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.members), Some(&after.members)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_group_members(b: &LocalBackend, p: RemoveGroupMembers) -> Result<MailGroup> {
    let addr = authorised(b, Page::Groups, &p.address, true)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    for raw in &p.members {
        let m = validate::address(raw).map_err(|e| e.with_field("members"))?.full();
        if !before.members.contains(&m) {
            return Err(Error::not_found(format!("{m} is not a member of {address}")).with_field("members"));
        }
        sqlx::query("DELETE FROM group_members WHERE group_id = ? AND member = ?")
            .bind(id)
            .bind(&m)
            .execute(&mut *tx)
            .await?;
    }
    let after = load_group(&mut tx, &address).await?.1;
    let change = Change { action: RemoveGroupMembers::NAME, domain: Some(&addr.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.members), Some(&after.members)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_group(b: &LocalBackend, p: RemoveGroup) -> Result<()> {
    let addr = authorised(b, Page::Groups, &p.address, true)?;
    let address = addr.full();
    let mut tx = b.engine.write().await?;
    let (id, before) = load_group(&mut tx, &address).await?;
    if let Some(user) = referenced_by(&mut tx, &address).await? {
        return Err(Error::conflict(format!("{address} is still used by {user}; remove it there first")));
    }
    sqlx::query("DELETE FROM mail_groups WHERE id = ?").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM addresses WHERE address = ?").bind(&address).execute(&mut *tx).await?;
    let change = Change { action: RemoveGroup::NAME, domain: Some(&addr.domain), target: &address };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- resolution ----------------------------------------------------------------------

pub(crate) async fn resolve(b: &LocalBackend, p: ResolveAddress) -> Result<Resolution> {
    let addr = authorised(b, Page::Accounts, &p.address, false)?;
    resolve_in(&mut *b.engine.read().await?, &addr).await
}

impl super::Engine {
    /// Which mailboxes receive mail to `address`: its account, what its alias or group
    /// expands to, else the domain's first matching pickup rule, else its catch-all
    /// mailbox. Not found when none of them takes it. For the mail services (no caller).
    pub async fn resolve_recipient(&self, address: &str) -> Result<Resolution> {
        resolve_in(&mut *self.read().await?, &validate::address(address)?).await
    }

    /// Whether `domain` is one of this backend's domains (for the mail services; no
    /// caller). A name that is not a valid domain is not ours.
    pub async fn is_local_domain(&self, domain: &str) -> Result<bool> {
        let Ok(domain) = validate::domain(domain) else { return Ok(false) };
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM domains WHERE name = ?")
            .bind(&domain)
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok(n > 0)
    }
}

/// Locked accounts still receive mail; disabled and deleted ones do not.
async fn receives(conn: &mut SqliteConnection, address: &str) -> Result<bool> {
    Ok(matches!(status_of(conn, address).await?, Some(AccountStatus::Active | AccountStatus::Locked)))
}

async fn resolve_in(conn: &mut SqliteConnection, addr: &Address) -> Result<Resolution> {
    let address = addr.full();
    let Some(kind) = kind_of(conn, &address).await? else {
        let routed = super::mailbox::route_unknown(conn, &addr.domain, &addr.local).await?;
        let Some((kind, target, rule)) = routed else {
            return Err(Error::not_found(format!(
                "no account, alias, group, pickup rule or catch-all mailbox takes {address}"
            )));
        };
        let mailboxes = if receives(conn, &target).await? { vec![target] } else { Vec::new() };
        return Ok(Resolution { address, kind, mailboxes, external: Vec::new(), rule });
    };
    let mut mailboxes = BTreeSet::new();
    let mut external = BTreeSet::new();
    let mut queue = VecDeque::from([address.clone()]);
    let mut seen = HashSet::new();
    while let Some(next) = queue.pop_front() {
        if !seen.insert(next.clone()) {
            continue;
        }
        match kind_of(conn, &next).await? {
            Some(AddressKind::Account) => {
                if receives(conn, &next).await? {
                    mailboxes.insert(next);
                }
            }
            Some(AddressKind::AccountAlias) => queue.extend(owner_of_alias(conn, &next).await?),
            Some(AddressKind::Alias | AddressKind::Group) => queue.extend(edges(conn, &next).await?),
            Some(AddressKind::PickupRule | AddressKind::CatchAll) | None => {
                external.insert(next);
            }
        }
    }
    Ok(Resolution {
        address,
        kind,
        mailboxes: mailboxes.into_iter().collect(),
        external: external.into_iter().collect(),
        rule: None,
    })
}
