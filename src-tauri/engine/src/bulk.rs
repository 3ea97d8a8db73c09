//! Bulk account actions: disable, enable, delete, move to a department or change the quota
//! of many accounts of one domain at once, picked by address or by a listing's filter.
//!
//! One action is one `BEGIN IMMEDIATE` transaction with one audit entry (naming the action,
//! the selection and the count) and one batch row (`ledger`), whatever the number of
//! accounts; every check runs before the first write, so a refusal changes nothing. Disable,
//! enable and quota changes record each account's before-state and can be undone with
//! `undo_batch` while nothing they touched has changed since; a delete is undone account by
//! account from the recycle bin, a move by moving back.

use std::collections::HashSet;

use super::accounts::check_quota;
use super::audit::{self, Change};
use super::departments::Tree;
use super::ledger::{self, Recorded};
use super::sql::bulk::Selected;
use super::sql::{self, Conn};
use super::{EngineBackend, domain_id, domains, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::{AccountStatus, Page};
use crate::validate;
use postdesk_contract::access::MAX_LIST_ITEMS;
use postdesk_contract::settings::BatchOutcome;

/// Most accounts one bulk action may act on (a filter matching more is refused: narrow it).
pub const MAX_BULK: usize = 100_000;

/// Addresses the audit entry lists by name; past this it gives their number.
const AUDIT_ADDRESSES: usize = 500;

const MIB: i64 = 1024 * 1024;

/// The selected accounts (none deleted), and the selection in words.
async fn select(
    conn: &mut Conn,
    did: i64,
    domain: &str,
    tree: &Tree,
    selection: &AccountSelection,
) -> Result<(Vec<Selected>, String)> {
    match selection {
        AccountSelection::Addresses { addresses } => {
            if addresses.is_empty() || addresses.len() > MAX_LIST_ITEMS {
                return Err(Error::validation(format!(
                    "a selection holds 1 to {} addresses, not {}; to act on more, select by filter",
                    MAX_LIST_ITEMS,
                    addresses.len()
                ))
                .with_field("selection"));
            }
            let at_row = |i: usize, input: &str, e: Error| Error {
                message: format!("account {} ({}): {}", i + 1, input.trim(), e.message),
                field: Some("selection".into()),
                ..e
            };
            let mut canonical = Vec::with_capacity(addresses.len());
            let mut seen = HashSet::with_capacity(addresses.len());
            for (i, input) in addresses.iter().enumerate() {
                let addr = validate::address(input).map_err(|e| at_row(i, input, e))?;
                if addr.domain != domain {
                    return Err(at_row(i, input, Error::validation(format!("not in {domain}"))));
                }
                if seen.insert(addr.full()) {
                    canonical.push((i, addr.full()));
                }
            }
            let names: Vec<&str> = canonical.iter().map(|(_, a)| a.as_str()).collect();
            let rows = sql::bulk::at_addresses(conn, did, &names).await?;
            let mut by_address: std::collections::HashMap<String, Selected> =
                rows.into_iter().map(|r| (r.address.clone(), r)).collect();
            let mut out = Vec::with_capacity(canonical.len());
            for (i, address) in &canonical {
                match by_address.remove(address) {
                    None => {
                        let e = Error::not_found(format!("account {address} does not exist"));
                        return Err(at_row(*i, &addresses[*i], e));
                    }
                    Some(row) if row.status == "deleted" => {
                        let e = Error::conflict("is in the recycle bin; restore it first");
                        return Err(at_row(*i, &addresses[*i], e));
                    }
                    Some(row) => out.push(row),
                }
            }
            let words = match out.as_slice() {
                [one] => format!("account {}", one.address),
                many => format!("{} selected accounts", many.len()),
            };
            Ok((out, words))
        }
        AccountSelection::Filter { query, department, subdepartments, status } => {
            if *status == Some(AccountStatus::Deleted) {
                return Err(Error::validation(
                    "deleted accounts are in the recycle bin: restore them there, one by one",
                )
                .with_field("selection"));
            }
            let mut filter = super::accounts::filter(
                tree,
                query.as_deref(),
                department.as_deref(),
                *subdepartments,
                *status,
                None,
                None,
            )
            .map_err(|e| e.with_field("selection"))?;
            let ids = filter.ids(conn, did, 0, MAX_BULK as i64 + 1).await?;
            let words = describe_filter(domain, query, department, *subdepartments, *status);
            if ids.is_empty() {
                return Err(Error::validation(format!("{words} match no account")).with_field("selection"));
            }
            if ids.len() > MAX_BULK {
                let (total, _) = filter.count(conn, did, 0, true).await?;
                return Err(Error::limit_exceeded(format!(
                    "{words} match {total} accounts; one bulk action takes at most {MAX_BULK}: narrow the filter"
                ))
                .with_field("selection"));
            }
            let rows = sql::bulk::by_ids(conn, did, &ids).await?;
            let words = format!("{} accounts matching {words}", rows.len());
            Ok((rows, words))
        }
    }
}

/// A filter in words: `the filter "ann" in department Sales (with sub-departments), status
/// disabled`, or `every account of example.com`.
fn describe_filter(
    domain: &str,
    query: &Option<String>,
    department: &Option<String>,
    subdepartments: Option<bool>,
    status: Option<AccountStatus>,
) -> String {
    let mut parts = Vec::new();
    if let Some(q) = query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        parts.push(format!("\"{q}\""));
    }
    if let Some(d) = department.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        let with = if subdepartments.unwrap_or(true) { "with" } else { "without" };
        parts.push(format!("department {d} ({with} sub-departments)"));
    }
    if let Some(s) = status {
        parts.push(format!("status {}", s.as_str()));
    }
    if parts.is_empty() { format!("the whole of {domain}") } else { format!("the filter {}", parts.join(", ")) }
}

/// The account field an undoable action records and its value after (JSON).
type FieldAfter = Option<(&'static str, String)>;

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn ids(rows: &[&Selected]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

pub(crate) async fn run(b: &EngineBackend, p: BulkAccounts) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let plan = domains::load(&mut tx, &domain).await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = Tree::load(&mut tx, did, &domain).await?;
    // Every check before the first write.
    let target_department = match &p.action {
        BulkAction::MoveToDepartment { department } => match department.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(path) => Some(Some(tree.resolve(path).map_err(|e| e.with_field("action"))?)),
        },
        _ => None,
    };
    if let BulkAction::SetQuota { quota_mb } = p.action {
        check_quota(&plan, quota_mb).map_err(|e| e.with_field("action"))?;
    }
    let (selected, description) = select(&mut tx, did, &domain, &tree, &p.selection).await?;
    let (changed, verb, key_after, not_undoable): (Vec<&Selected>, String, FieldAfter, Option<&str>) = match &p.action {
        BulkAction::Disable => (
            selected.iter().filter(|r| r.status != "disabled").collect(),
            "disabled".into(),
            Some(("status", "\"disabled\"".into())),
            None,
        ),
        BulkAction::Enable => (
            selected.iter().filter(|r| r.status != "active").collect(),
            "enabled".into(),
            Some(("status", "\"active\"".into())),
            None,
        ),
        BulkAction::Delete => (
            selected.iter().collect(),
            "moved to the recycle bin".into(),
            None,
            Some("deleted accounts are restored from the recycle bin, one by one"),
        ),
        BulkAction::MoveToDepartment { .. } => {
            let to = target_department.flatten();
            let place = to.map(|d| format!("department {}", tree.path(d))).unwrap_or_else(|| "the top level".into());
            (
                selected.iter().filter(|r| r.department_id != to).collect(),
                format!("moved to {place}"),
                None,
                Some("a move is undone by moving the accounts back"),
            )
        }
        BulkAction::SetQuota { quota_mb } => {
            let limit = i64::from(*quota_mb) * MIB;
            let over: Vec<&Selected> = selected.iter().filter(|r| r.used_bytes > limit).collect();
            if !over.is_empty() {
                let shown: Vec<String> = over
                    .iter()
                    .take(3)
                    .map(|r| format!("{} stores {:.1} MiB", r.address, r.used_bytes as f64 / MIB as f64))
                    .collect();
                let more = if over.len() > 3 { format!(" and {} more", over.len() - 3) } else { String::new() };
                return Err(Error::conflict(format!(
                        "a quota of {quota_mb} MiB is below what {} mailbox{} already store{} ({}{more}); nothing was changed",
                        over.len(),
                        if over.len() == 1 { "" } else { "es" },
                        if over.len() == 1 { "s" } else { "" },
                        shown.join("; ")
                    ))
                    .with_field("action"));
            }
            (
                selected.iter().filter(|r| r.quota_mb != i64::from(*quota_mb)).collect(),
                format!("set to a quota of {quota_mb} MiB"),
                Some(("quota_mb", quota_mb.to_string())),
                None,
            )
        }
    };
    if changed.is_empty() {
        return Ok(BatchOutcome { batch: None, message: format!("nothing changed: {description} are already {verb}") });
    }
    let summary = format!("{} account{} {verb}", changed.len(), plural(changed.len()));
    let recorded = Recorded {
        domain_id: did,
        domain: &domain,
        action: BulkAccounts::NAME,
        target: &description,
        accounts: selected.len() as u32,
        changes: changed.len() as u32,
        summary,
        not_undoable,
    };
    let batch = ledger::record(&mut tx, &b.caller.name, &recorded).await?;
    let changed_ids = ids(&changed);
    if let Some((key, after)) = &key_after {
        sql::bulk::record_field(&mut tx, batch.id, key, after, &changed_ids).await?;
    }
    let at = now();
    match &p.action {
        BulkAction::Disable => sql::bulk::set_status(&mut tx, &changed_ids, "disabled", &at).await?,
        BulkAction::Enable => sql::bulk::set_status(&mut tx, &changed_ids, "active", &at).await?,
        BulkAction::Delete => sql::bulk::delete(&mut tx, &changed_ids, &at, &b.caller.name).await?,
        BulkAction::MoveToDepartment { .. } => {
            sql::bulk::set_department(&mut tx, &changed_ids, target_department.flatten(), &at).await?
        }
        BulkAction::SetQuota { quota_mb } => sql::bulk::set_quota(&mut tx, &changed_ids, *quota_mb, &at).await?,
    }
    let audit_target = format!("batch {}: {description}", batch.id);
    let change = Change { action: BulkAccounts::NAME, domain: Some(&domain), target: &audit_target };
    let listed: Vec<&str> = changed.iter().take(AUDIT_ADDRESSES).map(|r| r.address.as_str()).collect();
    let after = serde_json::json!({
        "action": p.action,
        "selection": selection_in_audit(&p.selection),
        "selected": selected.len(),
        "changed": changed.len(),
        "addresses": listed,
        "more_addresses": changed.len().saturating_sub(AUDIT_ADDRESSES),
    });
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&after)).await?;
    tx.commit().await?;
    let message = format!("{description}: {}", batch.summary);
    Ok(BatchOutcome { batch: Some(batch), message })
}

/// The selection as the audit entry shows it: a filter as given, a list of addresses by
/// its length (the changed addresses are listed beside it).
fn selection_in_audit(selection: &AccountSelection) -> serde_json::Value {
    match selection {
        AccountSelection::Addresses { addresses } => {
            serde_json::json!({ "kind": "addresses", "count": addresses.len() })
        }
        filter => serde_json::to_value(filter).unwrap_or_default(),
    }
}
