//! Accounts (mailboxes) and their extra addresses.
//!
//! Password hashes are written here and never read back into any API type; hashing
//! happens before the write transaction opens, so the write lock is never held for it.

use std::collections::HashMap;

use sqlx::{Row, SqliteConnection};

use super::addresses::{self, referenced_by};
use super::audit::{self, Change};
use super::departments::Tree;
use super::{LocalBackend, domain_id, domains, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::password;
use crate::validate::{self, Address};

const MAX_DISPLAY_NAME: usize = 128;
const MAX_NOTES: usize = 2000;

/// Loads accounts by id, in the order given, with department paths and aliases.
pub(crate) async fn load_many(conn: &mut SqliteConnection, tree: &Tree, ids: &[i64]) -> Result<Vec<Account>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids_json = serde_json::to_string(ids)?;
    let rows = sqlx::query(
        "SELECT id, address, display_name, department_id, notes, status, password_hash IS NOT NULL AS has_password,
                force_password_change, quota_mb, created_at, updated_at
         FROM accounts WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(&ids_json)
    .fetch_all(&mut *conn)
    .await?;
    let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
    for (account_id, alias) in sqlx::query_as::<_, (i64, String)>(
        "SELECT account_id, address FROM account_aliases WHERE account_id IN (SELECT value FROM json_each(?)) ORDER BY address",
    )
    .bind(&ids_json)
    .fetch_all(&mut *conn)
    .await?
    {
        aliases.entry(account_id).or_default().push(alias);
    }
    let mut by_id: HashMap<i64, Account> = rows
        .into_iter()
        .map(|r| {
            let id: i64 = r.get("id");
            let status: String = r.get("status");
            let account = Account {
                address: r.get("address"),
                display_name: r.get("display_name"),
                department: r.get::<Option<i64>, _>("department_id").map(|d| tree.path(d)),
                notes: r.get("notes"),
                status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Disabled),
                has_password: r.get("has_password"),
                force_password_change: r.get("force_password_change"),
                quota_mb: r.get::<i64, _>("quota_mb") as u32,
                aliases: aliases.remove(&id).unwrap_or_default(),
                created_at: r.get("created_at"),
                updated_at: r.get("updated_at"),
            };
            (id, account)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The account at `address` (its own address, not an alias): id, domain id, account.
pub(crate) async fn load(conn: &mut SqliteConnection, addr: &Address) -> Result<(i64, i64, Account)> {
    let address = addr.full();
    let row: Option<(i64, i64)> = sqlx::query_as("SELECT id, domain_id FROM accounts WHERE address = ?")
        .bind(&address)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((id, did)) = row else {
        return Err(Error::not_found(format!("account {address} does not exist")).with_field("address"));
    };
    let tree = Tree::load(conn, did, &addr.domain).await?;
    let account = load_many(conn, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    Ok((id, did, account))
}

/// Parses an address and checks the caller may act on its domain's accounts.
pub(crate) fn authorised(b: &LocalBackend, address: &str, write: bool) -> Result<Address> {
    let addr = validate::address(address)?;
    b.caller.require(Page::Accounts, Some(&addr.domain), write)?;
    Ok(addr)
}

/// A listing's filter and order as SQL: `?1` domain id, `?2` LIKE pattern, `?3` JSON
/// department ids, `?4` status.
pub(crate) struct AccountFilter {
    pattern: Option<String>,
    departments: Option<String>,
    status: Option<&'static str>,
    with: &'static str,
    order: &'static str,
    direction: &'static str,
}

const FILTER_SQL: &str = "a.domain_id = ?1
    AND (?2 IS NULL OR a.address LIKE ?2 ESCAPE '\\' OR a.display_name LIKE ?2 ESCAPE '\\')
    AND (?3 IS NULL OR a.department_id IN (SELECT value FROM json_each(?3)))
    AND (CASE WHEN ?4 IS NULL THEN a.status <> 'deleted' ELSE a.status = ?4 END)";

impl AccountFilter {
    /// The filter of a listing or export.
    pub(crate) fn new(
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
                let ids = if subdepartments.unwrap_or(true) { tree.subtree(id) } else { vec![id] };
                Some(serde_json::to_string(&ids)?)
            }
        };
        let pattern = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let (with, order) = match sort.unwrap_or_default() {
            AccountSort::Address => ("", "a.address"),
            AccountSort::DisplayName => ("", "a.display_name COLLATE NOCASE"),
            AccountSort::Status => ("", "a.status"),
            AccountSort::CreatedAt => ("", "a.created_at"),
            AccountSort::Department => (
                "WITH RECURSIVE dp(id, path) AS (
                    SELECT id, name FROM departments WHERE domain_id = ?1 AND parent_id IS NULL
                    UNION ALL SELECT d.id, dp.path || '/' || d.name FROM departments d JOIN dp ON d.parent_id = dp.id)",
                "(SELECT path FROM dp WHERE dp.id = a.department_id) COLLATE NOCASE",
            ),
        };
        let direction = if descending.unwrap_or(false) { "DESC" } else { "ASC" };
        Ok(AccountFilter { pattern, departments, status: status.map(AccountStatus::as_str), with, order, direction })
    }

    fn is_everything(&self) -> bool {
        self.pattern.is_none() && self.departments.is_none() && self.status.is_none()
    }

    async fn count(&self, conn: &mut SqliteConnection, did: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM accounts a WHERE {FILTER_SQL}"))
            .bind(did)
            .bind(&self.pattern)
            .bind(&self.departments)
            .bind(self.status)
            .fetch_one(conn)
            .await?)
    }

    /// Ids of the matching accounts in order; `limit` -1 means all.
    pub(crate) async fn ids(&self, conn: &mut SqliteConnection, did: i64, offset: u32, limit: i64) -> Result<Vec<i64>> {
        let (with, order, direction) = (self.with, self.order, self.direction);
        Ok(sqlx::query_scalar(&format!(
            "{with} SELECT a.id FROM accounts a WHERE {FILTER_SQL} ORDER BY {order} {direction}, a.address {direction} LIMIT ?5 OFFSET ?6"
        ))
        .bind(did)
        .bind(&self.pattern)
        .bind(&self.departments)
        .bind(self.status)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?)
    }
}

pub(crate) async fn list(b: &LocalBackend, p: ListAccounts) -> Result<Listing<Account>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain), false)?;
    let offset = p.offset.unwrap_or(0);
    let limit = p.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(Error::validation("page size must be between 1 and 1000").with_field("limit"));
    }
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let tree = Tree::load(&mut conn, did, &domain).await?;
    let filter = AccountFilter::new(
        &tree,
        p.query.as_deref(),
        p.department.as_deref(),
        p.subdepartments,
        p.status,
        p.sort,
        p.descending,
    )?;
    let total: i64 = if filter.is_everything() {
        // The unfiltered count is kept by triggers; no need to scan the domain.
        sqlx::query_scalar("SELECT account_count FROM domains WHERE id = ?").bind(did).fetch_one(&mut *conn).await?
    } else {
        filter.count(&mut conn, did).await?
    };
    let ids = filter.ids(&mut conn, did, offset, i64::from(limit)).await?;
    let items = load_many(&mut conn, &tree, &ids).await?;
    Ok(Listing { items, total: total as u32, offset })
}

pub(crate) async fn get(b: &LocalBackend, p: GetAccount) -> Result<Account> {
    let addr = authorised(b, &p.address, false)?;
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
fn prepare(b: &LocalBackend, p: CreateAccount) -> Result<(Prepared, Option<Password>)> {
    let addr = authorised(b, &p.address, true)?;
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
    conn: &mut SqliteConnection,
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
    let id = sqlx::query(
        "INSERT INTO accounts (domain_id, address, display_name, department_id, notes, status, password_hash,
                               force_password_change, quota_mb, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
    )
    .bind(did)
    .bind(&address)
    .bind(&p.display_name)
    .bind(department)
    .bind(&p.notes)
    .bind(&p.hash)
    .bind(p.force_password_change)
    .bind(quota)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?
    .last_insert_rowid();
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

pub(crate) async fn create(b: &LocalBackend, p: CreateAccount) -> Result<Account> {
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

pub(crate) async fn create_many(b: &LocalBackend, p: CreateAccounts) -> Result<CreatedAccounts> {
    let domain_name = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain_name), true)?;
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

fn check_quota(domain: &Domain, quota_mb: u32) -> Result<()> {
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

pub(crate) async fn update(b: &LocalBackend, p: UpdateAccount) -> Result<Account> {
    let addr = authorised(b, &p.address, true)?;
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
    sqlx::query(
        "UPDATE accounts SET
            display_name = coalesce(?, display_name),
            department_id = CASE WHEN ? THEN ? ELSE department_id END,
            notes = coalesce(?, notes),
            status = coalesce(?, status),
            force_password_change = coalesce(?, force_password_change),
            quota_mb = coalesce(?, quota_mb),
            failed_logins = CASE WHEN ? THEN 0 ELSE failed_logins END,
            updated_at = ?
         WHERE id = ?",
    )
    .bind(display_name)
    .bind(department.is_some())
    .bind(department.flatten())
    .bind(notes)
    .bind(p.status.map(AccountStatus::as_str))
    .bind(p.force_password_change)
    .bind(p.quota_mb)
    .bind(clear_failures)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let change = Change { action: UpdateAccount::NAME, domain: Some(&addr.domain), target: &after.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn set_password(b: &LocalBackend, p: SetPassword) -> Result<()> {
    let addr = authorised(b, &p.address, true)?;
    // Check existence before spending ~50 ms of CPU on the hash.
    load(&mut *b.engine.read().await?, &addr).await?;
    let hash = password::hash_async(p.password.0).await?;
    let mut tx = b.engine.write().await?;
    let (id, _, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin; restore it first", before.address)));
    }
    sqlx::query(
        "UPDATE accounts SET password_hash = ?, force_password_change = coalesce(?, force_password_change),
            failed_logins = 0, status = CASE WHEN status = 'locked' THEN 'active' ELSE status END, updated_at = ?
         WHERE id = ?",
    )
    .bind(&hash)
    .bind(p.force_password_change)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let redacted = |a: &Account| serde_json::json!({ "has_password": a.has_password, "status": a.status, "force_password_change": a.force_password_change });
    let (_, _, after) = load(&mut tx, &addr).await?;
    let change = Change { action: SetPassword::NAME, domain: Some(&addr.domain), target: &after.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&redacted(&before)), Some(&redacted(&after))).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn remove(b: &LocalBackend, p: RemoveAccount) -> Result<()> {
    let addr = authorised(b, &p.address, true)?;
    let mut tx = b.engine.write().await?;
    let (id, _, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is already in the recycle bin", before.address)));
    }
    let at = now();
    sqlx::query("UPDATE accounts SET status = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ?")
        .bind(&at)
        .bind(&at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO recycle_bin (account_id, status_before, deleted_at, deleted_by) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(before.status.as_str())
        .bind(&at)
        .bind(&b.caller.name)
        .execute(&mut *tx)
        .await?;
    let change = Change { action: RemoveAccount::NAME, domain: Some(&addr.domain), target: &before.address };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn add_alias(b: &LocalBackend, p: AddAccountAlias) -> Result<Account> {
    let addr = authorised(b, &p.address, true)?;
    let alias = validate::address(&p.alias).map_err(|e| e.with_field("alias"))?;
    b.caller.require(Page::Accounts, Some(&alias.domain), true)?;
    let mut tx = b.engine.write().await?;
    let (id, did, before) = load(&mut tx, &addr).await?;
    if before.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin; restore it first", before.address)));
    }
    let alias_domain = domain_id(&mut tx, &alias.domain).await.map_err(|e| e.with_field("alias"))?;
    let alias_address = alias.full();
    addresses::register(&mut tx, alias_domain, &alias_address, AddressKind::AccountAlias).await?;
    sqlx::query("INSERT INTO account_aliases (address, account_id) VALUES (?, ?)")
        .bind(&alias_address)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let tree = Tree::load(&mut tx, did, &addr.domain).await?;
    let after = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let change = Change { action: AddAccountAlias::NAME, domain: Some(&addr.domain), target: &before.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.aliases), Some(&after.aliases)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn remove_alias(b: &LocalBackend, p: RemoveAccountAlias) -> Result<Account> {
    let addr = authorised(b, &p.address, true)?;
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
    sqlx::query("DELETE FROM account_aliases WHERE address = ?").bind(&alias).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM addresses WHERE address = ?").bind(&alias).execute(&mut *tx).await?;
    let tree = Tree::load(&mut tx, did, &addr.domain).await?;
    let after = load_many(&mut tx, &tree, &[id]).await?.pop().ok_or_else(|| Error::internal("account vanished"))?;
    let change = Change { action: RemoveAccountAlias::NAME, domain: Some(&addr.domain), target: &before.address };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.aliases), Some(&after.aliases)).await?;
    tx.commit().await?;
    Ok(after)
}

/// The status of the account at `address`, if there is one (for the address resolver).
pub(crate) async fn status_of(conn: &mut SqliteConnection, address: &str) -> Result<Option<AccountStatus>> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM accounts WHERE address = ?").bind(address).fetch_optional(conn).await?;
    Ok(status.as_deref().and_then(AccountStatus::parse))
}

/// The account an extra address belongs to.
pub(crate) async fn owner_of_alias(conn: &mut SqliteConnection, alias: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT a.address FROM account_aliases x JOIN accounts a ON a.id = x.account_id WHERE x.address = ?",
    )
    .bind(alias)
    .fetch_optional(conn)
    .await?)
}
