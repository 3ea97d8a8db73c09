//! The batch ledger over the setting overrides: what a batch recorded (the batch row, and
//! each override it changed with its exact before- and after-value), writing such changes,
//! how they are undone, and how the audit log shows them. Settings batches (`settings`)
//! write through it and `batches` lists and undoes what it recorded; it uses neither.

use std::collections::BTreeMap;

use serde_json::Value;

use super::now;
use super::sql::{self, Conn};
use crate::error::Result;
use postdesk_contract::settings::{Batch, SettingKey, SettingLevel, UndoState};

/// One override to write: where, which key, the value before and after (JSON, `None` =
/// not overridden).
pub(crate) struct OverrideChange {
    pub scope: SettingLevel,
    pub scope_id: i64,
    pub label: String,
    pub key: SettingKey,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Writes each change's after-value (removing the override where it is `None`).
pub(crate) async fn write(conn: &mut Conn, domain: i64, changes: &[OverrideChange]) -> Result<()> {
    for c in changes {
        sql::settings::write_override(conn, domain, c.scope, c.scope_id, c.key.as_str(), c.after.as_deref()).await?;
    }
    Ok(())
}

/// The changes as the audit log shows them: `{label: {key: value}}`, before and after.
pub(crate) fn audit_maps(changes: &[OverrideChange]) -> (Value, Value) {
    let mut before: BTreeMap<&str, BTreeMap<&str, Value>> = BTreeMap::new();
    let mut after: BTreeMap<&str, BTreeMap<&str, Value>> = BTreeMap::new();
    let parse = |v: &Option<String>| v.as_deref().and_then(|v| serde_json::from_str(v).ok()).unwrap_or(Value::Null);
    for c in changes {
        before.entry(&c.label).or_default().insert(c.key.as_str(), parse(&c.before));
        after.entry(&c.label).or_default().insert(c.key.as_str(), parse(&c.after));
    }
    (serde_json::json!(before), serde_json::json!(after))
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
pub(crate) async fn record(conn: &mut Conn, actor: &str, r: &Recorded<'_>) -> Result<Batch> {
    let at = now();
    let row = sql::batches::NewBatch {
        domain_id: r.domain_id,
        at: &at,
        actor,
        action: r.action,
        target: r.target,
        accounts: r.accounts,
        changes: r.changes,
        summary: &r.summary,
        not_undoable: r.not_undoable,
    };
    let id = sql::batches::insert(conn, row).await?;
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
pub(crate) async fn record_changes(conn: &mut Conn, batch: u32, changes: &[OverrideChange]) -> Result<()> {
    for c in changes {
        let change = sql::batches::NewChange {
            batch,
            scope: c.scope.as_str(),
            scope_id: c.scope_id,
            key: c.key.as_str(),
            label: &c.label,
            before: c.before.as_deref(),
            after: c.after.as_deref(),
        };
        sql::batches::insert_change(conn, change).await?;
    }
    Ok(())
}

/// An account field a bulk account action changed (`status`, `quota_mb`), as the undo
/// shows it in the audit log; the undo itself is one statement (`sql::bulk::undo_fields`).
pub(crate) struct FieldChange {
    pub label: String,
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The account-field changes as the audit log shows them, as [`audit_maps`] does.
pub(crate) fn field_audit_maps(fields: &[FieldChange]) -> (Value, Value) {
    let mut before: BTreeMap<&str, BTreeMap<&str, Value>> = BTreeMap::new();
    let mut after: BTreeMap<&str, BTreeMap<&str, Value>> = BTreeMap::new();
    let parse = |v: &Option<String>| v.as_deref().and_then(|v| serde_json::from_str(v).ok()).unwrap_or(Value::Null);
    for c in fields {
        before.entry(&c.label).or_default().insert(&c.key, parse(&c.before));
        after.entry(&c.label).or_default().insert(&c.key, parse(&c.after));
    }
    (serde_json::json!(before), serde_json::json!(after))
}

/// What undoing batch `batch` writes: its changes run the other way (each level back to
/// its before-state; account fields of a bulk account action likewise), plus, in words,
/// every change made since that stands in the way (a level that no longer exists, or a
/// value that is no longer the batch's after-state).
pub(crate) async fn reversal(
    conn: &mut Conn,
    batch: u32,
) -> Result<(Vec<OverrideChange>, Vec<FieldChange>, Vec<String>)> {
    let rows = sql::batches::changes(conn, batch).await?;
    let mut changes = Vec::with_capacity(rows.len());
    let mut fields = Vec::new();
    let mut stale = Vec::new();
    for r in rows {
        if r.scope == "account_field" {
            if !r.present {
                stale.push(format!("{} no longer exists", r.label));
            } else if r.current != r.after {
                stale.push(format!("{}: {} is now {}", r.label, r.key, r.current.as_deref().unwrap_or("unset")));
            }
            fields.push(FieldChange { label: r.label, key: r.key, before: r.after, after: r.before });
            continue;
        }
        let scope = match r.scope.as_str() {
            "domain" => SettingLevel::Domain,
            "department" => SettingLevel::Department,
            _ => SettingLevel::Account,
        };
        let key = r.key;
        let label = r.label;
        let after = r.after;
        let current = r.current;
        if !r.present {
            stale.push(format!("{label} no longer exists"));
        } else if current != after {
            stale.push(format!("{label}: {key} is now {}", current.as_deref().unwrap_or("inherited")));
        }
        let Some(key) = SettingKey::parse(&key) else { continue };
        // The undo writes the batch's before-state back: its change runs the other way.
        changes.push(OverrideChange { scope, scope_id: r.scope_id, label, key, before: after, after: r.before });
    }
    Ok((changes, fields, stale))
}
