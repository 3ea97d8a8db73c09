//! Batches: targets (domain default, a department with its sub-departments, a selection of
//! accounts), listing batches and undoing what the ledger (`ledger`: the batch record with
//! its exact before-state) recorded, and the batch actions that are not settings: password
//! resets and clearing security questions.
//!
//! One batch is one `BEGIN IMMEDIATE` transaction with one audit entry, whatever the number
//! of accounts. Undo restores a settings batch's before-state only where the current value
//! still equals the batch's after-state; anything changed since refuses the whole undo.
//! Password resets and cleared security questions cannot be undone: the old hashes and
//! answers are not kept.

use std::collections::HashSet;

use super::audit::{self, Change};
use super::departments::Tree;
use super::ledger::{self, Recorded};
use super::sql::{self, Conn};
use super::{EngineBackend, domain_id, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, id_cursor, page_limit, page_of};
use crate::password;
use crate::validate;
use postdesk_contract::settings::{Batch, BatchOutcome, SettingLevel, UndoState};

/// Most accounts one batch may name by address.
pub const MAX_SELECTION: usize = 10_000;

/// A batch target resolved inside the transaction.
pub(crate) struct TargetScope {
    /// The level the values are written at.
    pub level: SettingLevel,
    /// The rows of that level: `(id, label)`.
    pub scopes: Vec<(i64, String)>,
    /// For a department with its sub-departments: the subtree (the department first).
    pub below: Option<Vec<i64>>,
    /// In words, for the batch record and messages.
    pub description: String,
    /// Accounts the target covers (not deleted).
    pub accounts: u32,
}

/// Accounts named by address: `(id, address, status)` in input order; every one must exist
/// in `domain` and not be in the recycle bin.
async fn selection(
    conn: &mut Conn,
    did: i64,
    domain: &str,
    addresses: &[String],
) -> Result<Vec<(i64, String, String)>> {
    if addresses.is_empty() || addresses.len() > MAX_SELECTION {
        return Err(Error::validation(format!(
            "a selection holds 1 to {MAX_SELECTION} accounts, not {}",
            addresses.len()
        ))
        .with_field("target"));
    }
    let at_row = |i: usize, input: &str, e: Error| Error {
        message: format!("account {} ({}): {}", i + 1, input.trim(), e.message),
        field: Some("target".into()),
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
    let rows = sql::batches::accounts_at(conn, did, &names).await?;
    let by_address: std::collections::HashMap<&str, &(i64, String, String)> =
        rows.iter().map(|r| (r.1.as_str(), r)).collect();
    let mut out = Vec::with_capacity(canonical.len());
    for (i, address) in &canonical {
        match by_address.get(address.as_str()) {
            None => {
                return Err(at_row(*i, &addresses[*i], Error::not_found(format!("account {address} does not exist"))));
            }
            Some((_, _, status)) if status == "deleted" => {
                return Err(at_row(*i, &addresses[*i], Error::conflict("is in the recycle bin; restore it first")));
            }
            Some(row) => out.push((*row).clone()),
        }
    }
    Ok(out)
}

fn describe_selection(accounts: &[(i64, String, String)]) -> String {
    match accounts {
        [(_, one, _)] => format!("account {one}"),
        many => format!("{} selected accounts", many.len()),
    }
}

/// Resolves a target for a settings batch.
pub(crate) async fn resolve_target(
    conn: &mut Conn,
    did: i64,
    domain: &str,
    tree: &Tree,
    target: &BatchTarget,
) -> Result<TargetScope> {
    Ok(match target {
        BatchTarget::Domain => {
            let accounts = sql::batches::domain_account_count(conn, did).await?;
            TargetScope {
                level: SettingLevel::Domain,
                scopes: vec![(did, "domain default".into())],
                below: None,
                description: format!("domain default of {domain}"),
                accounts: accounts as u32,
            }
        }
        BatchTarget::Department { path, subdepartments } => {
            let id = tree.resolve(path).map_err(|e| e.with_field("target"))?;
            let subtree = tree.subtree(id);
            let accounts = sql::batches::department_account_count(conn, &subtree).await?;
            let with = subdepartments.unwrap_or(true);
            let path = tree.path(id);
            TargetScope {
                level: SettingLevel::Department,
                scopes: vec![(id, format!("department {path}"))],
                description: if with {
                    format!("department {path} with its sub-departments")
                } else {
                    format!("department {path} (sub-departments keep their own settings)")
                },
                below: with.then_some(subtree),
                accounts: accounts as u32,
            }
        }
        BatchTarget::Accounts { addresses } => {
            let accounts = selection(conn, did, domain, addresses).await?;
            TargetScope {
                level: SettingLevel::Account,
                description: describe_selection(&accounts),
                accounts: accounts.len() as u32,
                scopes: accounts.into_iter().map(|(id, address, _)| (id, format!("account {address}"))).collect(),
                below: None,
            }
        }
    })
}

/// The accounts (not deleted) a password reset or security-question clearing acts on:
/// `(id, address, status)`, plus the target in words.
async fn target_accounts(
    conn: &mut Conn,
    did: i64,
    domain: &str,
    tree: &Tree,
    target: &BatchTarget,
) -> Result<(Vec<(i64, String, String)>, String)> {
    match target {
        BatchTarget::Domain => Err(Error::validation(
            "choose a department or accounts: this action is not a setting with a domain default",
        )
        .with_field("target")),
        BatchTarget::Department { path, subdepartments } => {
            let id = tree.resolve(path).map_err(|e| e.with_field("target"))?;
            let with = subdepartments.unwrap_or(true);
            let ids = if with { tree.subtree(id) } else { vec![id] };
            let rows = sql::batches::department_accounts(conn, &ids).await?;
            let path = tree.path(id);
            let description = if with {
                format!("department {path} with its sub-departments")
            } else {
                format!("department {path} without its sub-departments")
            };
            if rows.is_empty() {
                return Err(Error::validation(format!("{description} has no accounts")).with_field("target"));
            }
            Ok((rows, description))
        }
        BatchTarget::Accounts { addresses } => {
            let rows = selection(conn, did, domain, addresses).await?;
            let description = describe_selection(&rows);
            Ok((rows, description))
        }
    }
}

pub(crate) async fn list(b: &EngineBackend, p: ListBatches) -> Result<CursorPage<Batch>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let before = id_cursor(p.after.as_deref())?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let rows = sql::batches::list(&mut conn, did, before, limit + 1).await?;
    Ok(page_of(rows, limit, |batch| batch.id.to_string()))
}

pub(crate) async fn undo(b: &EngineBackend, p: UndoBatch) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let batch = sql::batches::get(&mut tx, p.id, did)
        .await?
        .ok_or_else(|| Error::not_found(format!("batch {} does not exist in {domain}", p.id)).with_field("id"))?;
    match batch.undo {
        UndoState::Available => {}
        UndoState::Undone | UndoState::NotUndoable => {
            return Err(Error::conflict(format!(
                "batch {} cannot be undone: {}",
                batch.id,
                batch.note.as_deref().unwrap_or("it is not undoable")
            )));
        }
    }
    let (changes, fields, stale) = ledger::reversal(&mut tx, batch.id).await?;
    if !stale.is_empty() {
        let shown: Vec<&str> = stale.iter().take(3).map(String::as_str).collect();
        let more = if stale.len() > 3 { format!(" and {} more", stale.len() - 3) } else { String::new() };
        return Err(Error::conflict(format!(
            "batch {} cannot be undone: {} of its {} changes were changed since ({}{more}); nothing was changed",
            batch.id,
            stale.len(),
            (changes.len() + fields.len()).max(stale.len()),
            shown.join("; ")
        )));
    }
    ledger::write(&mut tx, did, &changes).await?;
    let at = now();
    if !fields.is_empty() {
        sql::bulk::undo_fields(&mut tx, batch.id, &at).await?;
    }
    sql::batches::mark_undone(&mut tx, batch.id, &at, &b.caller.name).await?;
    let (before, after) =
        if fields.is_empty() { ledger::audit_maps(&changes) } else { ledger::field_audit_maps(&fields) };
    let target = format!("batch {}: {}", batch.id, batch.target);
    let change = Change { action: UndoBatch::NAME, domain: Some(&domain), target: &target };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    let message = format!("undone: {} is back as it was before batch {}", batch.target, batch.id);
    let batch = Batch { undo: UndoState::Undone, note: Some(format!("undone by {} at {at}", b.caller.name)), ..batch };
    Ok(BatchOutcome { batch: Some(batch), message })
}

pub(crate) async fn reset_passwords(b: &EngineBackend, p: ResetPasswords) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain))?;
    password::check_policy(&p.password.0)?;
    // Which accounts, before spending CPU on hashes: one Argon2id hash per account, each
    // with its own salt (one shared hash would let anyone who reads the table see which
    // accounts share a password), computed on all cores before the write lock is taken.
    let (accounts, description) = {
        let mut conn = b.engine.read().await?;
        let did = domain_id(&mut conn, &domain).await?;
        let tree = Tree::load(&mut conn, did, &domain).await?;
        target_accounts(&mut conn, did, &domain, &tree, &p.target).await?
    };
    let hashing = std::time::Instant::now();
    let hashes =
        password::hash_many(accounts.iter().map(|(id, _, _)| (*id, p.password.clone())).collect::<Vec<_>>()).await?;
    let hashing = hashing.elapsed();
    let writing = std::time::Instant::now();
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    // The statuses as they are now, inside the transaction (accounts deleted while the
    // hashes were computed are skipped).
    let ids: Vec<i64> = hashes.iter().map(|(id, _)| *id).collect();
    let current: std::collections::HashMap<i64, (String, String)> = sql::batches::live_accounts(&mut tx, &ids, did)
        .await?
        .into_iter()
        .map(|(id, address, status)| (id, (address, status)))
        .collect();
    let at = now();
    let mut reset = Vec::with_capacity(hashes.len());
    let mut unlocked = Vec::new();
    for (id, hash) in &hashes {
        let Some((address, status)) = current.get(id) else { continue };
        sql::accounts::set_password(&mut tx, *id, hash, p.force_password_change, &at).await?;
        reset.push(address.clone());
        if status == "locked" {
            unlocked.push(address.clone());
        }
    }
    if reset.is_empty() {
        return Err(Error::conflict(format!("no account of {description} is left to reset")));
    }
    let mut summary = format!("reset {} password{}", reset.len(), if reset.len() == 1 { "" } else { "s" });
    if !unlocked.is_empty() {
        summary.push_str(&format!(", unlocked {}", unlocked.len()));
    }
    match p.force_password_change {
        Some(true) => summary.push_str(", change required at first logon"),
        Some(false) => summary.push_str(", no change required at logon"),
        None => {}
    }
    let recorded = Recorded {
        domain_id: did,
        domain: &domain,
        action: ResetPasswords::NAME,
        target: &description,
        accounts: reset.len() as u32,
        changes: reset.len() as u32,
        summary,
        not_undoable: Some("a password reset cannot be undone: the old passwords are not kept"),
    };
    let batch = ledger::record(&mut tx, &b.caller.name, &recorded).await?;
    let audit_target = format!("batch {}: {description}", batch.id);
    let change = Change { action: ResetPasswords::NAME, domain: Some(&domain), target: &audit_target };
    let after = serde_json::json!({
        "password_reset": reset,
        "unlocked": unlocked,
        "force_password_change": p.force_password_change,
    });
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&after)).await?;
    tx.commit().await?;
    tracing::info!(
        target: "postdesk::batch",
        batch = batch.id,
        accounts = reset.len(),
        hashing_ms = hashing.as_millis() as u64,
        writing_ms = writing.elapsed().as_millis() as u64,
        "password reset"
    );
    let message = format!("{description}: {}", batch.summary);
    Ok(BatchOutcome { batch: Some(batch), message })
}

pub(crate) async fn clear_security_questions(b: &EngineBackend, p: ClearSecurityQuestions) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = Tree::load(&mut tx, did, &domain).await?;
    let (accounts, description) = target_accounts(&mut tx, did, &domain, &tree, &p.target).await?;
    let ids: Vec<i64> = accounts.iter().map(|(id, _, _)| *id).collect();
    let cleared = sql::batches::clear_security_questions(&mut tx, &now(), &ids).await?;
    if cleared.is_empty() {
        return Ok(BatchOutcome {
            batch: None,
            message: format!("nothing changed: no account of {description} has security questions set"),
        });
    }
    let recorded = Recorded {
        domain_id: did,
        domain: &domain,
        action: ClearSecurityQuestions::NAME,
        target: &description,
        accounts: accounts.len() as u32,
        changes: cleared.len() as u32,
        summary: format!(
            "cleared the security questions of {} account{}",
            cleared.len(),
            if cleared.len() == 1 { "" } else { "s" }
        ),
        not_undoable: Some("cleared security questions cannot be restored: the answers are gone"),
    };
    let batch = ledger::record(&mut tx, &b.caller.name, &recorded).await?;
    let audit_target = format!("batch {}: {description}", batch.id);
    let change = Change { action: ClearSecurityQuestions::NAME, domain: Some(&domain), target: &audit_target };
    let mut sorted = cleared;
    sorted.sort();
    audit::record(
        &mut tx,
        &b.caller.name,
        change,
        Some(&serde_json::json!({ "security_questions_set": sorted })),
        Some(&serde_json::json!({ "security_questions_set": [] })),
    )
    .await?;
    tx.commit().await?;
    let message = format!("{description}: {}", batch.summary);
    Ok(BatchOutcome { batch: Some(batch), message })
}
