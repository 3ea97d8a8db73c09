//! Batches: targets (domain default, a department with its sub-departments, a selection of
//! accounts), the batch record with its exact before-state, undo, and the batch actions
//! that are not settings: password resets and clearing security questions.
//!
//! One batch is one `BEGIN IMMEDIATE` transaction with one audit entry, whatever the number
//! of accounts. Undo restores a settings batch's before-state only where the current value
//! still equals the batch's after-state; anything changed since refuses the whole undo.
//! Password resets and cleared security questions cannot be undone: the old hashes and
//! answers are not kept.

use std::collections::HashSet;

use sqlx::{Row, SqliteConnection};

use super::audit::{self, Change};
use super::departments::Tree;
use super::settings::{OverrideChange, audit_maps, write_override};
use super::{LocalBackend, domain_id, now};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::Page;
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
    conn: &mut SqliteConnection,
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
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, address, status FROM accounts WHERE domain_id = ? AND address IN (SELECT value FROM json_each(?))",
    )
    .bind(did)
    .bind(serde_json::to_string(&names)?)
    .fetch_all(conn)
    .await?;
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
    conn: &mut SqliteConnection,
    did: i64,
    domain: &str,
    tree: &Tree,
    target: &BatchTarget,
) -> Result<TargetScope> {
    Ok(match target {
        BatchTarget::Domain => {
            let accounts: i64 =
                sqlx::query_scalar("SELECT account_count FROM domains WHERE id = ?").bind(did).fetch_one(conn).await?;
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
            let accounts: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM accounts
                 WHERE department_id IN (SELECT value FROM json_each(?)) AND status <> 'deleted'",
            )
            .bind(serde_json::to_string(&subtree)?)
            .fetch_one(conn)
            .await?;
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
    conn: &mut SqliteConnection,
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
            let rows: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT id, address, status FROM accounts
                 WHERE department_id IN (SELECT value FROM json_each(?)) AND status <> 'deleted' ORDER BY address",
            )
            .bind(serde_json::to_string(&ids)?)
            .fetch_all(conn)
            .await?;
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

/// What to record for a batch.
pub(crate) struct Recorded<'a> {
    pub domain_id: i64,
    pub domain: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub accounts: u32,
    pub changes: u32,
    pub summary: String,
    pub not_undoable: Option<&'a str>,
}

/// Inserts the batch row; returns it as the API shows it.
pub(crate) async fn record(conn: &mut SqliteConnection, actor: &str, r: &Recorded<'_>) -> Result<Batch> {
    let at = now();
    let id = sqlx::query(
        "INSERT INTO batches (domain_id, at, actor, action, target, accounts, changes, summary, not_undoable)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.domain_id)
    .bind(&at)
    .bind(actor)
    .bind(r.action)
    .bind(r.target)
    .bind(r.accounts)
    .bind(r.changes)
    .bind(&r.summary)
    .bind(r.not_undoable)
    .execute(conn)
    .await?
    .last_insert_rowid();
    Ok(Batch {
        id: id as u32,
        at,
        actor: actor.to_string(),
        domain: r.domain.to_string(),
        action: r.action.to_string(),
        target: r.target.to_string(),
        accounts: r.accounts,
        changes: r.changes,
        summary: r.summary.clone(),
        undo: if r.not_undoable.is_some() { UndoState::NotUndoable } else { UndoState::Available },
        note: r.not_undoable.map(String::from),
    })
}

/// Stores the before/after state of every override a settings batch changed.
pub(crate) async fn record_changes(conn: &mut SqliteConnection, batch: u32, changes: &[OverrideChange]) -> Result<()> {
    for c in changes {
        sqlx::query(
            "INSERT INTO batch_changes (batch_id, scope, scope_id, key, label, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(batch)
        .bind(c.scope.as_str())
        .bind(c.scope_id)
        .bind(c.key.as_str())
        .bind(&c.label)
        .bind(&c.before)
        .bind(&c.after)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

const SELECT_BATCH: &str = "SELECT b.id, b.at, b.actor, d.name AS domain, b.action, b.target, b.accounts, b.changes,
        b.summary, b.not_undoable, b.undone_at, b.undone_by
    FROM batches b JOIN domains d ON d.id = b.domain_id";

fn batch_from_row(r: sqlx::sqlite::SqliteRow) -> Batch {
    let not_undoable: Option<String> = r.get("not_undoable");
    let undone_at: Option<String> = r.get("undone_at");
    let undone_by: Option<String> = r.get("undone_by");
    let (undo, note) = match (undone_at, not_undoable) {
        (Some(at), _) => (UndoState::Undone, Some(format!("undone by {} at {at}", undone_by.unwrap_or_default()))),
        (None, Some(why)) => (UndoState::NotUndoable, Some(why)),
        (None, None) => (UndoState::Available, None),
    };
    Batch {
        id: r.get::<i64, _>("id") as u32,
        at: r.get("at"),
        actor: r.get("actor"),
        domain: r.get("domain"),
        action: r.get("action"),
        target: r.get("target"),
        accounts: r.get::<i64, _>("accounts") as u32,
        changes: r.get::<i64, _>("changes") as u32,
        summary: r.get("summary"),
        undo,
        note,
    }
}

pub(crate) async fn list(b: &LocalBackend, p: ListBatches) -> Result<Vec<Batch>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain), false)?;
    let limit = p.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Error::validation("limit must be between 1 and 100").with_field("limit"));
    }
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let rows = sqlx::query(&format!("{SELECT_BATCH} WHERE b.domain_id = ? ORDER BY b.id DESC LIMIT ?"))
        .bind(did)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(batch_from_row).collect())
}

pub(crate) async fn undo(b: &LocalBackend, p: UndoBatch) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain), true)?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let batch = sqlx::query(&format!("{SELECT_BATCH} WHERE b.id = ? AND b.domain_id = ?"))
        .bind(p.id)
        .bind(did)
        .fetch_optional(&mut *tx)
        .await?
        .map(batch_from_row)
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
    let rows = sqlx::query(
        "SELECT c.scope, c.scope_id, c.key, c.label, c.before, c.after, o.value AS current,
            CASE c.scope
                WHEN 'domain' THEN 1
                WHEN 'department' THEN EXISTS (SELECT 1 FROM departments WHERE id = c.scope_id)
                ELSE EXISTS (SELECT 1 FROM accounts WHERE id = c.scope_id) END AS present
         FROM batch_changes c
         LEFT JOIN setting_overrides o ON o.scope = c.scope AND o.scope_id = c.scope_id AND o.key = c.key
         WHERE c.batch_id = ?",
    )
    .bind(batch.id)
    .fetch_all(&mut *tx)
    .await?;
    let mut changes = Vec::with_capacity(rows.len());
    let mut stale = Vec::new();
    for r in rows {
        let scope = match r.get::<String, _>("scope").as_str() {
            "domain" => SettingLevel::Domain,
            "department" => SettingLevel::Department,
            _ => SettingLevel::Account,
        };
        let key: String = r.get("key");
        let label: String = r.get("label");
        let after: Option<String> = r.get("after");
        let current: Option<String> = r.get("current");
        if !r.get::<bool, _>("present") {
            stale.push(format!("{label} no longer exists"));
        } else if current != after {
            stale.push(format!("{label}: {key} is now {}", current.as_deref().unwrap_or("inherited")));
        }
        let Some(key) = postdesk_contract::settings::SettingKey::parse(&key) else { continue };
        // The undo writes the batch's before-state back: its change runs the other way.
        changes.push(OverrideChange {
            scope,
            scope_id: r.get("scope_id"),
            label,
            key,
            before: after,
            after: r.get("before"),
        });
    }
    if !stale.is_empty() {
        let shown: Vec<&str> = stale.iter().take(3).map(String::as_str).collect();
        let more = if stale.len() > 3 { format!(" and {} more", stale.len() - 3) } else { String::new() };
        return Err(Error::conflict(format!(
            "batch {} cannot be undone: {} of its {} changes were changed since ({}{more}); nothing was changed",
            batch.id,
            stale.len(),
            changes.len().max(stale.len()),
            shown.join("; ")
        )));
    }
    for c in &changes {
        write_override(&mut tx, did, c.scope, c.scope_id, c.key.as_str(), c.after.as_deref()).await?;
    }
    let at = now();
    sqlx::query("UPDATE batches SET undone_at = ?, undone_by = ? WHERE id = ?")
        .bind(&at)
        .bind(&b.caller.name)
        .bind(batch.id)
        .execute(&mut *tx)
        .await?;
    let (before, after) = audit_maps(&changes);
    let target = format!("batch {}: {}", batch.id, batch.target);
    let change = Change { action: UndoBatch::NAME, domain: Some(&domain), target: &target };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    let message = format!("undone: {} is back as it was before batch {}", batch.target, batch.id);
    let batch = Batch { undo: UndoState::Undone, note: Some(format!("undone by {} at {at}", b.caller.name)), ..batch };
    Ok(BatchOutcome { batch: Some(batch), message })
}

pub(crate) async fn reset_passwords(b: &LocalBackend, p: ResetPasswords) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain), true)?;
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
    let current: std::collections::HashMap<i64, (String, String)> = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT id, address, status FROM accounts
             WHERE id IN (SELECT value FROM json_each(?)) AND domain_id = ? AND status <> 'deleted'",
    )
    .bind(serde_json::to_string(&ids)?)
    .bind(did)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(id, address, status)| (id, (address, status)))
    .collect();
    let at = now();
    let mut reset = Vec::with_capacity(hashes.len());
    let mut unlocked = Vec::new();
    for (id, hash) in &hashes {
        let Some((address, status)) = current.get(id) else { continue };
        sqlx::query(
            "UPDATE accounts SET password_hash = ?, force_password_change = coalesce(?, force_password_change),
                failed_logins = 0, status = CASE WHEN status = 'locked' THEN 'active' ELSE status END, updated_at = ?
             WHERE id = ?",
        )
        .bind(hash)
        .bind(p.force_password_change)
        .bind(&at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
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
    let batch = record(&mut tx, &b.caller.name, &recorded).await?;
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

pub(crate) async fn clear_security_questions(b: &LocalBackend, p: ClearSecurityQuestions) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain), true)?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = Tree::load(&mut tx, did, &domain).await?;
    let (accounts, description) = target_accounts(&mut tx, did, &domain, &tree, &p.target).await?;
    let ids: Vec<i64> = accounts.iter().map(|(id, _, _)| *id).collect();
    let cleared: Vec<String> = sqlx::query_scalar(
        "UPDATE accounts SET security_questions_set = 0, updated_at = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND security_questions_set = 1 RETURNING address",
    )
    .bind(now())
    .bind(serde_json::to_string(&ids)?)
    .fetch_all(&mut *tx)
    .await?;
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
    let batch = record(&mut tx, &b.caller.name, &recorded).await?;
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
