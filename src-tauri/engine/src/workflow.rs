//! Workflow groups (named groups of a domain's users) and the owners of shared mailboxes:
//! users and whole workflow groups who may see and send from a shared mailbox. The "sender
//! must match" rule of SMTP admits a shared mailbox's address for its owners through
//! [`Engine::shared_sender_addresses`] (the `Directory` seam's `sender_addresses`).
//!
//! Invariants: members and owners are accounts (and groups) of the shared mailbox's own
//! domain, not in the recycle bin; a change and its audit entry are one transaction; what
//! SMTP admits is read from the tables on each MAIL FROM, so a member removed from a group
//! can no longer send as the group's mailboxes from the next transaction on.

use std::collections::HashSet;

use postdesk_contract::shared::{
    MAX_MEMBERS, OwnedSharedMailbox, SharedMailbox, SharedOwner, SharedTemplate, WorkflowGroup,
};

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, page_limit};
use crate::sql::{self, workflow::Group};
use crate::{Engine, EngineBackend, Operation, domain_id, now, validate};

const MAX_GROUP_NAME: usize = 128;

/// The accounts of `domain` at `addresses` (ids, canonical addresses), each once; an
/// address of another domain, not an account or in the recycle bin is refused by name.
async fn accounts_of(
    conn: &mut sql::Conn,
    domain: &str,
    addresses: &[String],
    field: &str,
) -> Result<Vec<(i64, String)>> {
    if addresses.len() > MAX_MEMBERS {
        return Err(
            Error::limit_exceeded(format!("{} addresses; at most {MAX_MEMBERS}", addresses.len())).with_field(field)
        );
    }
    let mut out: Vec<(i64, String)> = Vec::new();
    for a in addresses {
        let addr = validate::address(a).map_err(|e| e.with_field(field))?;
        let full = addr.full();
        if addr.domain != domain {
            return Err(Error::validation(format!("{full} is not a user of {domain}")).with_field(field));
        }
        match sql::accounts::id_and_status(&mut *conn, &full).await? {
            Some((id, status)) if status != "deleted" => {
                if !out.iter().any(|(i, _)| *i == id) {
                    out.push((id, full));
                }
            }
            Some(_) => {
                return Err(Error::validation(format!("{full} is in the recycle bin")).with_field(field));
            }
            None => return Err(Error::not_found(format!("there is no user {full}")).with_field(field)),
        }
    }
    Ok(out)
}

fn valid_group_name(name: &str) -> Result<String> {
    let name = validate::text("name", name, MAX_GROUP_NAME)?;
    if name.is_empty() {
        return Err(Error::validation("a workflow group needs a name").with_field("name"));
    }
    if name.chars().any(|c| c == '/' || c.is_control()) {
        return Err(Error::validation(format!("'{name}': a group's name may not hold '/'")).with_field("name"));
    }
    Ok(name)
}

async fn group_view(conn: &mut sql::Conn, domain: &str, g: &Group) -> Result<WorkflowGroup> {
    Ok(WorkflowGroup {
        domain: domain.to_string(),
        name: g.name.clone(),
        members: sql::workflow::members(&mut *conn, g.id).await?,
        owns: sql::workflow::owns(&mut *conn, g.id).await?,
        created_at: g.created_at.clone(),
    })
}

async fn load_group(conn: &mut sql::Conn, did: i64, domain: &str, name: &str) -> Result<Group> {
    sql::workflow::get(conn, did, name.trim()).await?.ok_or_else(|| {
        Error::not_found(format!("{domain} has no workflow group named '{}'", name.trim())).with_field("name")
    })
}

pub(crate) async fn list_groups(b: &EngineBackend, p: ListWorkflowGroups) -> Result<CursorPage<WorkflowGroup>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let mut rows = sql::workflow::list(&mut conn, did, p.after.as_deref().unwrap_or(""), limit + 1).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.name.clone())
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for g in &rows {
        items.push(group_view(&mut conn, &domain, g).await?);
    }
    Ok(CursorPage { items, next })
}

pub(crate) async fn create_group(b: &EngineBackend, p: CreateWorkflowGroup) -> Result<WorkflowGroup> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let name = valid_group_name(&p.name)?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    if let Some(g) = sql::workflow::get(&mut tx, did, &name).await? {
        return Err(
            Error::conflict(format!("{domain} already has a workflow group named '{}'", g.name)).with_field("name")
        );
    }
    let members = accounts_of(&mut tx, &domain, &p.members, "members").await?;
    let id = sql::workflow::insert(&mut tx, did, &name, &now()).await?;
    let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
    sql::workflow::set_members(&mut tx, id, &ids).await?;
    let g = sql::workflow::get(&mut tx, did, &name).await?.ok_or_else(|| Error::internal("group lost"))?;
    let view = group_view(&mut tx, &domain, &g).await?;
    let change = Change { action: CreateWorkflowGroup::NAME, domain: Some(&domain), target: &name };
    audit::record(&mut tx, &b.caller.name, change, None::<&()>, Some(&view)).await?;
    tx.commit().await?;
    Ok(view)
}

pub(crate) async fn set_members(b: &EngineBackend, p: SetWorkflowGroupMembers) -> Result<WorkflowGroup> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let g = load_group(&mut tx, did, &domain, &p.name).await?;
    let before = group_view(&mut tx, &domain, &g).await?;
    let members = accounts_of(&mut tx, &domain, &p.members, "members").await?;
    let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
    sql::workflow::set_members(&mut tx, g.id, &ids).await?;
    let after = group_view(&mut tx, &domain, &g).await?;
    let change = Change { action: SetWorkflowGroupMembers::NAME, domain: Some(&domain), target: &g.name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    drop_stale_defaults(&mut tx, &b.caller.name, &domain).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_group(b: &EngineBackend, p: RemoveWorkflowGroup) -> Result<()> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let g = load_group(&mut tx, did, &domain, &p.name).await?;
    let before = group_view(&mut tx, &domain, &g).await?;
    sql::workflow::remove(&mut tx, g.id).await?;
    let change = Change { action: RemoveWorkflowGroup::NAME, domain: Some(&domain), target: &g.name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), None::<&()>).await?;
    drop_stale_defaults(&mut tx, &b.caller.name, &domain).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_owners(b: &EngineBackend, p: SetSharedMailboxOwners) -> Result<SharedMailbox> {
    let addr = validate::address(&p.address)?;
    b.caller.require(Page::Accounts, Some(&addr.domain))?;
    let address = addr.full();
    if p.groups.len() > MAX_MEMBERS {
        return Err(
            Error::limit_exceeded(format!("{} groups; at most {MAX_MEMBERS}", p.groups.len())).with_field("groups")
        );
    }
    let mut tx = b.engine.write().await?;
    let row = sql::shared::get(&mut tx, &address)
        .await?
        .ok_or_else(|| Error::not_found(format!("there is no shared mailbox {address}")).with_field("address"))?;
    let before = b.engine.shared_view(&mut tx, &row).await?;
    let users = accounts_of(&mut tx, &row.domain, &p.users, "users").await?;
    if users.iter().any(|(id, _)| *id == row.account_id) {
        return Err(Error::validation(format!("{address} cannot own itself")).with_field("users"));
    }
    let did = domain_id(&mut tx, &row.domain).await?;
    let mut groups: Vec<i64> = Vec::new();
    let mut seen = HashSet::new();
    for name in &p.groups {
        let g = sql::workflow::get(&mut tx, did, name.trim()).await?.ok_or_else(|| {
            Error::not_found(format!("{} has no workflow group named '{}'", row.domain, name.trim()))
                .with_field("groups")
        })?;
        if seen.insert(g.id) {
            groups.push(g.id);
        }
    }
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    sql::shared::set_owners(&mut tx, row.id, &ids, &groups).await?;
    let after = b.engine.shared_view(&mut tx, &row).await?;
    let change = Change { action: SetSharedMailboxOwners::NAME, domain: Some(&row.domain), target: &address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    drop_stale_defaults(&mut tx, &b.caller.name, &row.domain).await?;
    tx.commit().await?;
    Ok(after)
}

/// Clears, in the caller's transaction, the default shared mailbox of every user who no
/// longer owns it, each with its own audit entry (what `SetDefaultSharedMailbox` would write).
async fn drop_stale_defaults(tx: &mut sql::Conn, actor: &str, domain: &str) -> Result<()> {
    for (user, mailbox) in sql::shared::drop_stale_defaults(&mut *tx).await? {
        let change = Change { action: SetDefaultSharedMailbox::NAME, domain: Some(domain), target: &user };
        audit::record(&mut *tx, actor, change, Some(&mailbox), None::<&()>).await?;
    }
    Ok(())
}

/// The owners of the domain's shared mailboxes after `after` (all of them, by address).
async fn owners_of(conn: &mut sql::Conn, domain_id: i64, after: &str) -> Result<Vec<SharedOwner>> {
    let mut out: Vec<SharedOwner> = Vec::new();
    for (user, mailbox, default_mailbox) in sql::shared::owner_rows(conn, domain_id, after).await? {
        match out.last_mut() {
            Some(o) if o.address == user => o.owns.push(mailbox),
            _ => out.push(SharedOwner { address: user, owns: vec![mailbox], default_mailbox }),
        }
    }
    Ok(out)
}

pub(crate) async fn list_owners(b: &EngineBackend, p: ListSharedOwners) -> Result<CursorPage<SharedOwner>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let limit = page_limit(p.limit)? as usize;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let mut items = owners_of(&mut conn, did, p.after.as_deref().unwrap_or("")).await?;
    if p.without_default == Some(true) {
        items.retain(|o| o.default_mailbox.is_none());
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|o| o.address.clone())
    } else {
        None
    };
    Ok(CursorPage { items, next })
}

pub(crate) async fn set_default(b: &EngineBackend, p: SetDefaultSharedMailbox) -> Result<SharedOwner> {
    let addr = validate::address(&p.user).map_err(|e| e.with_field("user"))?;
    let domain = addr.domain.clone();
    b.caller.require(Page::Accounts, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let (uid, user) = accounts_of(&mut tx, &domain, &[addr.full()], "user")
        .await?
        .pop()
        .ok_or_else(|| Error::internal("user lost"))?;
    let did = domain_id(&mut tx, &domain).await?;
    let before = owners_of(&mut tx, did, "").await?.into_iter().find(|o| o.address == user);
    let mailbox = match p.mailbox.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => {
            let addr = validate::address(m).map_err(|e| e.with_field("mailbox"))?.full();
            let row = sql::shared::get(&mut tx, &addr)
                .await?
                .ok_or_else(|| Error::not_found(format!("there is no shared mailbox {addr}")).with_field("mailbox"))?;
            if !sql::shared::owns(&mut tx, uid, row.id).await? {
                return Err(Error::validation(format!("{user} does not own {addr}; only a mailbox it owns"))
                    .with_field("mailbox"));
            }
            Some(row.id)
        }
    };
    sql::shared::set_default(&mut tx, uid, mailbox).await?;
    let after = owners_of(&mut tx, did, "").await?.into_iter().find(|o| o.address == user).unwrap_or(SharedOwner {
        address: user.clone(),
        owns: Vec::new(),
        default_mailbox: None,
    });
    let change = Change { action: SetDefaultSharedMailbox::NAME, domain: Some(&domain), target: &user };
    audit::record(
        &mut tx,
        &b.caller.name,
        change,
        before.and_then(|o| o.default_mailbox).as_ref(),
        after.default_mailbox.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

impl Engine {
    /// The shared mailboxes' addresses the account at `account` may send as: those it owns,
    /// itself or through a workflow group it is a member of.
    pub(crate) async fn shared_sender_addresses(&self, account: &str) -> Result<Vec<String>> {
        sql::shared::owned_by(&mut *self.read().await?, account).await
    }

    /// The shared mailboxes the account at `account` owns, with its default and their
    /// templates (the portal's view).
    pub(crate) async fn owned_shared_mailboxes(&self, account: &str) -> Result<Vec<OwnedSharedMailbox>> {
        let mut conn = self.read().await?;
        let default = sql::shared::default_of(&mut conn, account).await?;
        let mut out = Vec::new();
        for address in sql::shared::owned_by(&mut conn, account).await? {
            let Some(row) = sql::shared::get(&mut conn, &address).await? else { continue };
            out.push(OwnedSharedMailbox {
                is_default: default.as_deref() == Some(address.as_str()),
                name: row.name,
                template: SharedTemplate {
                    font: row.template_font,
                    size_pt: row.template_size_pt.map(|s| s.clamp(0, i64::from(u32::MAX)) as u32),
                },
                address,
            });
        }
        Ok(out)
    }
}
