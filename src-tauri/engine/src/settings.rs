//! Settings per level (domain default, department, account) on SQLite, resolution of an
//! account's effective settings, the company address book, and settings batches.
//!
//! Storage is sparse: one `setting_overrides` row per key a level sets. Resolving one
//! account reads its domain's rows, its department ancestors' (found with a recursive
//! query up the parent pointers, so the cost is the depth of the tree, not its size) and
//! its own, then folds them with the pure [`EffectiveValues::resolve`]. Setting a value on
//! a department writes one row, whatever the number of accounts below it.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::audit::{self, Change};
use super::batches;
use super::departments::Tree;
use super::ledger::{self, OverrideChange, Recorded};
use super::sql::{self, Conn};
use super::{Engine, EngineBackend, domain_id, domains};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::Page;
use crate::validate;
use postdesk_contract::settings::*;

/// A department's ancestry, root first: `(id, path)` of each level down to it.
pub(crate) async fn chain(conn: &mut Conn, department: i64) -> Result<Vec<(i64, String)>> {
    let rows = sql::settings::ancestry(conn, department).await?;
    let mut path = String::new();
    Ok(rows
        .into_iter()
        .map(|(id, name)| {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&name);
            (id, path.clone())
        })
        .collect())
}

/// The layers above an account or department, general to specific: the domain default,
/// then each department of `ancestry`.
async fn layers_above(
    conn: &mut Conn,
    domain: i64,
    ancestry: &[(i64, String)],
) -> Result<Vec<(SettingSource, Settings)>> {
    let ids: Vec<i64> = ancestry.iter().map(|(id, _)| *id).collect();
    let rows = sql::settings::domain_and_department_overrides(conn, domain, &ids).await?;
    let of = |scope: &str, id: i64| {
        Settings::from_rows(
            rows.iter().filter(|r| r.0 == scope && r.1 == id).map(|(_, _, k, v)| (k.as_str(), v.as_str())),
        )
    };
    let mut layers = vec![(SettingSource::domain(), of("domain", domain))];
    for (id, path) in ancestry {
        layers.push((SettingSource::department(path.clone()), of("department", *id)));
    }
    Ok(layers)
}

fn fold(layers: &[(SettingSource, Settings)]) -> EffectiveValues {
    let refs: Vec<(SettingSource, &Settings)> = layers.iter().map(|(s, l)| (s.clone(), l)).collect();
    EffectiveValues::resolve(&refs)
}

/// An account's effective settings, by account id.
pub(crate) async fn effective(conn: &mut Conn, account: i64) -> Result<EffectiveSettings> {
    let (address, domain, department, security_questions_set) = sql::settings::account_facts(conn, account).await?;
    let ancestry = match department {
        Some(d) => chain(conn, d).await?,
        None => Vec::new(),
    };
    let mut layers = layers_above(conn, domain, &ancestry).await?;
    layers.push((SettingSource::account(), sql::settings::level(conn, SettingLevel::Account, account).await?));
    Ok(EffectiveSettings {
        address,
        department: ancestry.last().map(|(_, p)| p.clone()),
        security_questions_set,
        values: fold(&layers),
    })
}

/// The settings in force for an address of `domain` that is no account (an alias, a
/// group): the domain default's. Named `address` in the answer.
pub(crate) async fn domain_effective(conn: &mut Conn, domain: &str, address: &str) -> Result<EffectiveSettings> {
    let id = domain_id(conn, domain).await?;
    let layers = layers_above(conn, id, &[]).await?;
    Ok(EffectiveSettings {
        address: address.to_string(),
        department: None,
        security_questions_set: false,
        values: fold(&layers),
    })
}

/// The id of the account at `address` (its own address), or a not-found error.
pub(crate) async fn account_id(conn: &mut Conn, address: &str) -> Result<i64> {
    sql::settings::account_id(conn, address)
        .await?
        .ok_or_else(|| Error::not_found(format!("account {address} does not exist")).with_field("address"))
}

// The lockout threshold lives in the settings' SQL; these paths stay for its users.
pub(crate) use crate::sql::settings::set_lockout_threshold;

pub(crate) async fn get_effective(b: &EngineBackend, p: GetEffectiveSettings) -> Result<EffectiveSettings> {
    let addr = validate::address(&p.address)?;
    b.caller.require(Page::BatchSettings, Some(&addr.domain))?;
    let mut conn = b.engine.read().await?;
    let id = account_id(&mut conn, &addr.full()).await?;
    effective(&mut conn, id).await
}

/// Per key, how many departments (of `departments`) and accounts (in `account_departments`,
/// or the whole domain when `None`) override it.
async fn overrides_below(
    conn: &mut Conn,
    domain: i64,
    departments: &[i64],
    account_departments: Option<&[i64]>,
) -> Result<Vec<OverridesBelow>> {
    let rows = sql::settings::overrides_below(conn, domain, departments, account_departments).await?;
    let mut out: BTreeMap<SettingKey, OverridesBelow> = BTreeMap::new();
    for (scope, key, n) in rows {
        let Some(key) = SettingKey::parse(&key) else { continue };
        let entry = out.entry(key).or_insert(OverridesBelow { key, departments: 0, accounts: 0 });
        if scope == "department" {
            entry.departments = n as u32;
        } else {
            entry.accounts = n as u32;
        }
    }
    Ok(out.into_values().collect())
}

pub(crate) async fn get(b: &EngineBackend, p: GetSettings) -> Result<LevelSettings> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain))?;
    let department = p.department.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let account = p.account.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let tree = Tree::load(&mut conn, did, &domain).await?;
    match (department, account) {
        (Some(_), Some(_)) => {
            Err(Error::validation("name a department or an account, not both").with_field("department"))
        }
        (None, None) => {
            let all = sql::settings::department_ids(&mut conn, did).await?;
            Ok(LevelSettings {
                level: SettingLevel::Domain,
                department: None,
                account: None,
                settings: sql::settings::level(&mut conn, SettingLevel::Domain, did).await?,
                inherited: EffectiveValues::resolve(&[]),
                below: overrides_below(&mut conn, did, &all, None).await?,
                accounts: domains::load(&mut conn, &domain).await?.account_count,
            })
        }
        (Some(path), None) => {
            let id = tree.resolve(path)?;
            let ancestry = chain(&mut conn, id).await?;
            let above = layers_above(&mut conn, did, &ancestry[..ancestry.len() - 1]).await?;
            let subtree = tree.subtree(id);
            Ok(LevelSettings {
                level: SettingLevel::Department,
                department: Some(tree.path(id)),
                account: None,
                settings: sql::settings::level(&mut conn, SettingLevel::Department, id).await?,
                inherited: fold(&above),
                below: overrides_below(&mut conn, did, &subtree[1..], Some(&subtree)).await?,
                accounts: sql::settings::count_accounts(&mut conn, &subtree).await?,
            })
        }
        (None, Some(address)) => {
            let addr = validate::address(address).map_err(|e| e.with_field("account"))?;
            if addr.domain != domain {
                return Err(Error::validation(format!("{} is not in {domain}", addr.full())).with_field("account"));
            }
            let id = account_id(&mut conn, &addr.full()).await.map_err(|e| e.with_field("account"))?;
            let department = sql::settings::account_department(&mut conn, id).await?;
            let ancestry = match department {
                Some(d) => chain(&mut conn, d).await?,
                None => Vec::new(),
            };
            let above = layers_above(&mut conn, did, &ancestry).await?;
            Ok(LevelSettings {
                level: SettingLevel::Account,
                department: ancestry.last().map(|(_, p)| p.clone()),
                account: Some(addr.full()),
                settings: sql::settings::level(&mut conn, SettingLevel::Account, id).await?,
                inherited: fold(&above),
                below: Vec::new(),
                accounts: 1,
            })
        }
    }
}

pub(crate) async fn update(b: &EngineBackend, p: UpdateSettings) -> Result<BatchOutcome> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::BatchSettings, Some(&domain))?;
    let clear: Vec<SettingKey> = p.clear.unwrap_or_default();
    let level_of_target = match &p.target {
        BatchTarget::Domain => SettingLevel::Domain,
        BatchTarget::Department { .. } => SettingLevel::Department,
        BatchTarget::Accounts { .. } => SettingLevel::Account,
    };
    let set = p.set.unwrap_or_default().normalised(level_of_target)?;
    if set.is_empty() && clear.is_empty() {
        return Err(Error::validation("nothing to change: give values to set or keys to clear").with_field("set"));
    }
    if let Some(both) = clear.iter().find(|k| set.get_json(**k).is_some()) {
        return Err(Error::validation(format!("{} is both set and cleared", both.as_str())).with_field("clear"));
    }
    let keys: Vec<SettingKey> = set.keys().into_iter().chain(clear.iter().copied()).collect();
    let key_names: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();

    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = Tree::load(&mut tx, did, &domain).await?;
    let target = batches::resolve_target(&mut tx, did, &domain, &tree, &p.target).await?;

    // What each level of the target holds now for the keys concerned.
    let ids: Vec<i64> = target.scopes.iter().map(|(id, _)| *id).collect();
    let current = sql::settings::current(&mut tx, target.level, &ids, &key_names).await?;
    let mut now: HashMap<(i64, &str), String> = HashMap::with_capacity(current.len());
    for (id, key, value) in &current {
        now.insert((*id, key.as_str()), value.clone());
    }
    let mut changes = Vec::new();
    for (id, label) in &target.scopes {
        for key in &keys {
            let before = now.get(&(*id, key.as_str())).cloned();
            let after = set.get_json(*key).map(|v| v.to_string());
            if before != after {
                changes.push(OverrideChange {
                    scope: target.level,
                    scope_id: *id,
                    label: label.clone(),
                    key: *key,
                    before,
                    after,
                });
            }
        }
    }
    // A department with its sub-departments: overrides of these keys below it go, so the
    // whole subtree follows the department's value.
    let mut removed_below = 0;
    if let Some(below) = &target.below {
        let rows = sql::settings::overrides_of_keys_below(&mut tx, did, &key_names, &below[1..], below).await?;
        for r in rows {
            let scope_id = r.scope_id;
            let (scope, label) = if r.scope == "department" {
                (SettingLevel::Department, format!("department {}", tree.path(scope_id)))
            } else {
                // An account's override always has its address (read as the row is read).
                (SettingLevel::Account, format!("account {}", r.address.unwrap_or_default()))
            };
            let Some(key) = SettingKey::parse(&r.key) else { continue };
            changes.push(OverrideChange { scope, scope_id, label, key, before: Some(r.value), after: None });
            removed_below += 1;
        }
    }
    if changes.is_empty() {
        return Ok(BatchOutcome {
            batch: None,
            message: format!("nothing changed: {} already has these settings", target.description),
        });
    }
    ledger::write(&mut tx, did, &changes).await?;
    let mut parts = Vec::new();
    let shown: Vec<String> =
        set.keys().into_iter().map(|k| format!("{}={}", k.as_str(), set.get_json(k).unwrap_or(Value::Null))).collect();
    if !shown.is_empty() {
        parts.push(format!("set {}", shown.join(", ")));
    }
    if !clear.is_empty() {
        parts.push(format!("inherit {}", clear.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")));
    }
    if removed_below > 0 {
        parts.push(format!("removed {removed_below} overrides below"));
    }
    let recorded = Recorded {
        domain_id: did,
        domain: &domain,
        action: UpdateSettings::NAME,
        target: &target.description,
        accounts: target.accounts,
        changes: changes.len() as u32,
        summary: parts.join("; "),
        not_undoable: None,
    };
    let batch = ledger::record(&mut tx, &b.caller.name, &recorded).await?;
    ledger::record_changes(&mut tx, batch.id, &changes).await?;
    let (before, after) = ledger::audit_maps(&changes);
    let audit_target = format!("batch {}: {}", batch.id, target.description);
    let change = Change { action: UpdateSettings::NAME, domain: Some(&domain), target: &audit_target };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    let message = format!(
        "{}: {} ({} account{})",
        target.description,
        batch.summary,
        target.accounts,
        if target.accounts == 1 { "" } else { "s" }
    );
    Ok(BatchOutcome { batch: Some(batch), message })
}

impl Engine {
    /// Marks the account `address` as having security questions without storing any (for
    /// tests of the admin views and batches: the portal's
    /// `Engine::portal_set_security_questions_at` stores the questions and sets the mark;
    /// admins can only clear them, with `clear_security_questions`).
    pub async fn record_security_questions(&self, address: &str) -> Result<()> {
        let addr = validate::address(address)?;
        let mut tx = self.write().await?;
        let id = account_id(&mut tx, &addr.full()).await?;
        sql::settings::set_security_questions(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
