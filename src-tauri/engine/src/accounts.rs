//! Accounts (mailboxes) and their extra addresses.
//!
//! Password hashes are written here and never read back into any API type; hashing
//! happens before the write transaction opens, so the write lock is never held for it.

use std::collections::HashMap;

use super::addresses::{self, referenced_by};
use super::audit::{self, Change};
use super::departments::Tree;
use super::{EngineBackend, domain_id, domains, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::password;
use crate::sql::accounts::{AccountChanges, AccountFilter, NewAccount};
use crate::sql::{self, Conn};
use crate::validate::{self, Address};

const MAX_DISPLAY_NAME: usize = 128;
const MAX_NOTES: usize = 2000;

/// Loads accounts by id, in the order given, with department paths and aliases.
pub(crate) async fn load_many(conn: &mut Conn, tree: &Tree, ids: &[i64]) -> Result<Vec<Account>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (rows, mut aliases) = sql::accounts::by_ids(conn, ids).await?;
    let mut by_id: HashMap<i64, Account> = rows
        .into_iter()
        .map(|r| {
            let account = Account {
                address: r.address,
                display_name: r.display_name,
                department: r.department_id.map(|d| tree.path(d)),
                notes: r.notes,
                status: AccountStatus::parse(&r.status).unwrap_or(AccountStatus::Disabled),
                has_password: r.has_password,
                force_password_change: r.force_password_change,
                quota_mb: r.quota_mb as u32,
                aliases: aliases.remove(&r.id).unwrap_or_default(),
                created_at: r.created_at,
                updated_at: r.updated_at,
            };
            (r.id, account)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The account at `address` (its own address, not an alias): id, domain id, account.
pub(crate) async fn load(conn: &mut Conn, addr: &Address) -> Result<(i64, i64, Account)> {
    let address = addr.full();
    let row = sql::accounts::id_and_domain(conn, &address).await?;
    let Some((id, did)) = row else {
        return Err(Error::not_found(format!("account {address} does not exist")).with_field("address"));
    };
    let tree = Tree::load(conn, did, &addr.domain).await?;
    let account = load_many(conn, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    Ok((id, did, account))
}

/// Parses an address and checks the caller may act on its domain's accounts.
pub(crate) fn authorised(b: &EngineBackend, address: &str) -> Result<Address> {
    let addr = validate::address(address)?;
    b.caller.require(Page::Accounts, Some(&addr.domain))?;
    Ok(addr)
}

/// The filter of a listing or export: the department path resolved in `tree` (with its
/// subdepartments unless told otherwise).
pub(crate) fn filter(
    tree: &Tree,
    query: Option<&str>,
    department: Option<&str>,
    subdepartments: Option<bool>,
    status: Option<AccountStatus>,
    sort: Option<AccountSort>,
    descending: Option<bool>,
) -> Result<AccountFilter> {
    let departments = match department.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(path) => {
            let id = tree.resolve(path)?;
            Some(if subdepartments.unwrap_or(true) { tree.subtree(id) } else { vec![id] })
        }
    };
    AccountFilter::new(query, departments.as_deref(), status, sort, descending)
}

pub(crate) async fn list(b: &EngineBackend, p: ListAccounts) -> Result<Listing<Account>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let offset = p.offset.unwrap_or(0);
    let limit = p.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(Error::validation("page size must be between 1 and 1000").with_field("limit"));
    }
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let tree = Tree::load(&mut conn, did, &domain).await?;
    let mut filter =
        filter(&tree, p.query.as_deref(), p.department.as_deref(), p.subdepartments, p.status, p.sort, p.descending)?;
    let (total, total_capped) = if filter.is_everything() {
        // The unfiltered count is kept by triggers; no need to scan the domain.
        (sql::domains::account_count(&mut conn, did).await?, false)
    } else {
        filter.count(&mut conn, did, offset, p.exact_total.unwrap_or(false)).await?
    };
    // Counted to the end at or before `offset`: the page is empty, no need to read for it
    // (a short filter matching nothing would otherwise scan the domain twice).
    let ids = if !total_capped && total <= i64::from(offset) {
        Vec::new()
    } else {
        filter.ids(&mut conn, did, offset, i64::from(limit)).await?
    };
    let items = load_many(&mut conn, &tree, &ids).await?;
    Ok(Listing { items, total: total as u32, offset, total_capped })
}

pub(crate) async fn get(b: &EngineBackend, p: GetAccount) -> Result<Account> {
    let addr = authorised(b, &p.address)?;
    Ok(load(&mut *b.engine.read().await?, &addr).await?.2)
}

/// An account checked and ready to insert (password already hashed).
pub(crate) struct Prepared {
    pub addr: Address,
    pub display_name: String,
    pub notes: String,
    pub department: Option<String>,
    pub hash: Option<String>,
    pub force_password_change: bool,
    pub quota_mb: Option<u32>,
}

/// Everything about a new account that needs no database: syntax, lengths, policy.
fn prepare(b: &EngineBackend, p: CreateAccount) -> Result<(Prepared, Option<Password>)> {
    let addr = authorised(b, &p.address)?;
    let display_name = validate::text("display_name", p.display_name.as_deref().unwrap_or(""), MAX_DISPLAY_NAME)?;
    let notes = validate::text("notes", p.notes.as_deref().unwrap_or(""), MAX_NOTES)?;
    if let Some(pw) = &p.password {
        password::check_policy(&pw.0)?;
    }
    let department = p.department.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    let prepared = Prepared {
        addr,
        display_name,
        notes,
        department,
        hash: None,
        force_password_change: p.force_password_change.unwrap_or(false),
        quota_mb: p.quota_mb,
    };
    Ok((prepared, p.password))
}

/// Inserts a prepared account in the write transaction; returns its id.
pub(crate) async fn insert(
    conn: &mut Conn,
    domain: &Domain,
    did: i64,
    tree: &Tree,
    p: &Prepared,
    at: &str,
) -> Result<i64> {
    let quota = p.quota_mb.unwrap_or(domain.limits.mailbox_size_mb);
    check_quota(domain, quota)?;
    let department = match &p.department {
        Some(path) => Some(tree.resolve(path)?),
        None => None,
    };
    let address = p.addr.full();
    addresses::register(&mut *conn, did, &address, AddressKind::Account).await?;
    let row = NewAccount {
        address: &address,
        display_name: &p.display_name,
        department,
        notes: &p.notes,
        password_hash: &p.hash,
        force_password_change: p.force_password_change,
        quota_mb: quota,
    };
    let id = sql::accounts::insert(conn, did, &row, at).await?;
    Ok(id)
}

pub(crate) fn check_cap(domain: &Domain, adding: u32) -> Result<()> {
    if domain.account_count.saturating_add(adding) > domain.limits.max_accounts {
        let room = domain.limits.max_accounts.saturating_sub(domain.account_count);
        return Err(Error::limit_exceeded(if adding == 1 {
            format!("{} has reached its plan limit of {} accounts", domain.name, domain.limits.max_accounts)
        } else {
            format!(
                "{} accounts would take {} past its plan limit of {} accounts ({room} more fit)",
                adding, domain.name, domain.limits.max_accounts
            )
        }));
    }
    Ok(())
}

pub(crate) async fn create(b: &EngineBackend, p: CreateAccount) -> Result<Account> {
    let (mut prepared, password) = prepare(b, p)?;
    if let Some(pw) = password {
        prepared.hash = Some(password::hash_async(pw.0).await?);
    }
    let mut tx = b.engine.write().await?;
    let domain = domains::load(&mut tx, &prepared.addr.domain).await?;
    check_quota(&domain, prepared.quota_mb.unwrap_or(domain.limits.mailbox_size_mb))?;
    check_cap(&domain, 1)?;
    let did = domain_id(&mut tx, &domain.name).await?;
    let tree = Tree::load(&mut tx, did, &domain.name).await?;
    let id = insert(&mut tx, &domain, did, &tree, &prepared, &now()).await?;
    let account = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let address = account.address.clone();
    let change = Change { action: CreateAccount::NAME, domain: Some(&domain.name), target: &address };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&account)).await?;
    tx.commit().await?;
    Ok(account)
}

/// Most accounts one `create_accounts` call takes.
pub const MAX_BATCH: usize = 10_000;

pub(crate) async fn create_many(b: &EngineBackend, p: CreateAccounts) -> Result<CreatedAccounts> {
    let domain_name = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain_name))?;
    if p.accounts.is_empty() || p.accounts.len() > MAX_BATCH {
        return Err(Error::validation(format!("a batch holds 1 to {MAX_BATCH} accounts, not {}", p.accounts.len()))
            .with_field("accounts"));
    }
    let at_row = |i: usize, address: &str, e: Error| Error {
        message: format!("account {} ({address}): {}", i + 1, e.message),
        ..e
    };
    let mut prepared = Vec::with_capacity(p.accounts.len());
    let mut inputs = Vec::with_capacity(p.accounts.len());
    let mut passwords = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(p.accounts.len());
    for (i, row) in p.accounts.into_iter().enumerate() {
        let address = row.address.clone();
        let (ready, password) = prepare(b, row).map_err(|e| at_row(i, &address, e))?;
        if ready.addr.domain != domain_name {
            return Err(at_row(i, &address, Error::validation(format!("not in {domain_name}")).with_field("address")));
        }
        if !seen.insert(ready.addr.full()) {
            return Err(at_row(i, &address, Error::conflict("appears twice in this batch").with_field("address")));
        }
        if let Some(pw) = password {
            passwords.push((i, pw));
        }
        prepared.push(ready);
        inputs.push(address);
    }
    for (i, hash) in password::hash_many(passwords).await? {
        prepared[i].hash = Some(hash);
    }
    let mut tx = b.engine.write().await?;
    let domain = domains::load(&mut tx, &domain_name).await?;
    check_cap(&domain, prepared.len() as u32)?;
    let did = domain_id(&mut tx, &domain.name).await?;
    let tree = Tree::load(&mut tx, did, &domain.name).await?;
    let at = now();
    for (i, row) in prepared.iter().enumerate() {
        insert(&mut tx, &domain, did, &tree, row, &at).await.map_err(|e| at_row(i, &inputs[i], e))?;
    }
    let addresses: Vec<String> = prepared.iter().map(|r| r.addr.full()).collect();
    let target = format!("{} accounts", addresses.len());
    let change = Change { action: CreateAccounts::NAME, domain: Some(&domain.name), target: &target };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&serde_json::json!({ "addresses": addresses })))
        .await?;
    tx.commit().await?;
    Ok(CreatedAccounts { created: addresses.len() as u32 })
}

pub(crate) fn check_quota(domain: &Domain, quota_mb: u32) -> Result<()> {
    if quota_mb == 0 {
        return Err(Error::validation("quota must be at least 1 MiB").with_field("quota_mb"));
    }
    if quota_mb > domain.limits.mailbox_size_mb {
        return Err(Error::limit_exceeded(format!(
            "quota of {quota_mb} MiB is above the plan's mailbox size of {} MiB for {}",
            domain.limits.mailbox_size_mb, domain.name
        ))
        .with_field("quota_mb"));
    }
    Ok(())
}

pub(crate) async fn update(b: &EngineBackend, p: UpdateAccount) -> Result<Account> {
    let addr = authorised(b, &p.address)?;
    let display_name =
        p.display_name.as_deref().map(|n| validate::text("display_name", n, MAX_DISPLAY_NAME)).transpose()?;
    let notes = p.notes.as_deref().map(|n| validate::text("notes", n, MAX_NOTES)).transpose()?;
    if p.status == Some(AccountStatus::Deleted) {
        return Err(Error::validation("to delete an account use remove_account (it goes to the recycle bin)")
            .with_field("status"));
    }
    let mut tx = b.engine.write().await?;
    let (id, did, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin; restore it first", before.address)));
    }
    let tree = Tree::load(&mut tx, did, &addr.domain).await?;
    let department = match p.department.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(path) => Some(Some(tree.resolve(path)?)),
    };
    if let Some(quota) = p.quota_mb {
        check_quota(&domains::load(&mut tx, &addr.domain).await?, quota)?;
    }
    // Unlocking by hand clears the failed-login counter, as a password reset does.
    let clear_failures = p.status == Some(AccountStatus::Active) && before.status == AccountStatus::Locked;
    let changes = AccountChanges {
        display_name,
        department,
        notes,
        status: p.status,
        force_password_change: p.force_password_change,
        quota_mb: p.quota_mb,
        clear_failures,
    };
    sql::accounts::update(&mut tx, id, changes, now()).await?;
    let after = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let change = Change { action: UpdateAccount::NAME, domain: Some(&addr.domain), target: &after.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn set_password(b: &EngineBackend, p: SetPassword) -> Result<()> {
    let addr = authorised(b, &p.address)?;
    // Check existence before spending ~50 ms of CPU on the hash.
    load(&mut *b.engine.read().await?, &addr).await?;
    let hash = password::hash_async(p.password.0).await?;
    let mut tx = b.engine.write().await?;
    let (id, _, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin; restore it first", before.address)));
    }
    sql::accounts::set_password(&mut tx, id, &hash, p.force_password_change, &now()).await?;
    // A password set by an admin ends the user's portal sessions.
    sql::portal::delete_sessions_of(&mut tx, id, None).await?;
    let redacted = |a: &Account| serde_json::json!({ "has_password": a.has_password, "status": a.status, "force_password_change": a.force_password_change });
    let (_, _, after) = load(&mut tx, &addr).await?;
    let change = Change { action: SetPassword::NAME, domain: Some(&addr.domain), target: &after.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&redacted(&before)), Some(&redacted(&after))).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveAccount) -> Result<()> {
    let addr = authorised(b, &p.address)?;
    let mut tx = b.engine.write().await?;
    let (id, _, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is already in the recycle bin", before.address)));
    }
    let at = now();
    sql::accounts::mark_deleted(&mut tx, id, &at).await?;
    sql::recycle::add_entry(&mut tx, id, before.status, &at, &b.caller.name).await?;
    let change = Change { action: RemoveAccount::NAME, domain: Some(&addr.domain), target: &before.address };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn add_alias(b: &EngineBackend, p: AddAccountAlias) -> Result<Account> {
    let addr = authorised(b, &p.address)?;
    let alias = validate::address(&p.alias).map_err(|e| e.with_field("alias"))?;
    b.caller.require(Page::Accounts, Some(&alias.domain))?;
    let mut tx = b.engine.write().await?;
    let (id, did, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin; restore it first", before.address)));
    }
    let alias_domain = domain_id(&mut tx, &alias.domain).await.map_err(|e| e.with_field("alias"))?;
    let alias_address = alias.full();
    addresses::register(&mut tx, alias_domain, &alias_address, AddressKind::AccountAlias).await?;
    sql::accounts::add_alias(&mut tx, &alias_address, id).await?;
    let tree = Tree::load(&mut tx, did, &addr.domain).await?;
    let after = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let change = Change { action: AddAccountAlias::NAME, domain: Some(&addr.domain), target: &before.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.aliases), Some(&after.aliases)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_alias(b: &EngineBackend, p: RemoveAccountAlias) -> Result<Account> {
    let addr = authorised(b, &p.address)?;
    let alias = validate::address(&p.alias).map_err(|e| e.with_field("alias"))?.full();
    let mut tx = b.engine.write().await?;
    let (id, did, before) = load(&mut tx, &addr).await?;
    if !before.aliases.contains(&alias) {
        return Err(Error::not_found(format!("{alias} is not an alias of {}", before.address)).with_field("alias"));
    }
    if let Some(user) = referenced_by(&mut tx, &alias).await? {
        return Err(
            Error::conflict(format!("{alias} is still used by {user}; remove it there first")).with_field("alias")
        );
    }
    sql::accounts::remove_alias(&mut tx, &alias).await?;
    sql::addresses::release(&mut tx, &alias).await?;
    let tree = Tree::load(&mut tx, did, &addr.domain).await?;
    let after = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let change = Change { action: RemoveAccountAlias::NAME, domain: Some(&addr.domain), target: &before.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.aliases), Some(&after.aliases)).await?;
    tx.commit().await?;
    Ok(after)
}
