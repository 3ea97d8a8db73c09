//! Mail rules on the path, their admin operations: automatic BCC (`bcc_rules`) and
//! disclaimers (`disclaimer_rules`), each also as XLSX files. Page
//! `policy` on the rule's domain (a sub-admin manages only its domains' rules, and copies
//! only into mailboxes of domains it manages); every change audited in its transaction.
//! The mail services read every rule through [`Engine::bcc_rules`] and match them with the
//! contract's pure [`BccRule::fires`].

use postdesk_contract::rules::{
    BccRule, DisclaimerRule, MAX_BCC_RULES, MAX_DISCLAIMER_RULES, MAX_DISCLAIMER_TEXT, OutboundUsage, RuleDirection,
    condition, quota_state,
};

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result, RowError};
use crate::import;
use crate::model::{CursorPage, ExportedFile, ImportedRows, Page, id_cursor, page_limit, page_of};
use crate::sql;
use crate::{Engine, EngineBackend, Operation, domain_id, validate, xlsx};

pub(crate) async fn list_bcc(b: &EngineBackend, p: ListBccRules) -> Result<CursorPage<BccRule>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let after = id_cursor(p.after.as_deref())?.unwrap_or(0);
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let rows = sql::rules::bcc_page(&mut conn, did, after, limit + 1).await?;
    Ok(page_of(rows, limit, |r| r.id.to_string()))
}

pub(crate) async fn add_bcc(b: &EngineBackend, p: AddBccRule) -> Result<BccRule> {
    save_bcc(b, p, None).await
}

pub(crate) async fn update_bcc(b: &EngineBackend, p: UpdateBccRule) -> Result<BccRule> {
    let (id, p) = p.into_parts();
    save_bcc(b, p, Some(id)).await
}

/// Adds a BCC rule, or with `replacing` changes that rule in place (same id).
async fn save_bcc(b: &EngineBackend, p: AddBccRule, replacing: Option<i64>) -> Result<BccRule> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let name = validate::text("name", &p.name, 100)?;
    if name.is_empty() {
        return Err(Error::validation("give the rule a name").with_field("name"));
    }
    let sender = condition("sender", p.sender.as_deref())?;
    let recipient = condition("recipient", p.recipient.as_deref())?;
    let copy_to = validate::address(&p.copy_to)
        .map_err(|e| Error { message: format!("{} ('{}')", e.message, p.copy_to.trim()), ..e }.with_field("copy_to"))?;
    if b.engine.is_local_domain(&copy_to.domain).await? {
        // Copies into a domain of ours: the caller must manage it, and the address must
        // deliver somewhere.
        b.caller.require(Page::Policy, Some(&copy_to.domain))?;
        if let Err(e) = b.engine.resolve_recipient(&copy_to.full()).await {
            return Err(
                Error { message: format!("the copy cannot be delivered: {}", e.message), ..e }.with_field("copy_to")
            );
        }
    }
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let before = match replacing {
        None => None,
        Some(id) => Some(
            sql::rules::bcc_rule_of(&mut tx, did, id)
                .await?
                .ok_or_else(|| Error::not_found(format!("{domain} has no BCC rule {id}")).with_field("id"))?,
        ),
    };
    if before.is_none() && sql::rules::count_bcc(&mut tx, did).await? >= MAX_BCC_RULES {
        return Err(Error::limit_exceeded(format!(
            "{domain} has {MAX_BCC_RULES} BCC rules, the most a domain may have"
        )));
    }
    let mut rule = BccRule {
        id: 0,
        domain: domain.clone(),
        name,
        direction: p.direction.unwrap_or_default(),
        sender,
        recipient,
        copy_to: copy_to.full(),
    };
    rule.id = sql::rules::insert_bcc(&mut tx, did, &rule, &super::now()).await?;
    if let Some(old) = &before {
        sql::rules::replace_id(&mut tx, "bcc_rules", rule.id, old.id).await?;
        rule.id = old.id;
    }
    let target = format!("bcc rule {}", rule.id);
    let action = if before.is_some() { UpdateBccRule::NAME } else { AddBccRule::NAME };
    let change = Change { action, domain: Some(&domain), target: &target };
    audit::record(&mut tx, &b.caller.name, change, before.as_ref(), Some(&rule)).await?;
    tx.commit().await?;
    Ok(rule)
}

pub(crate) async fn remove_bcc(b: &EngineBackend, p: RemoveBccRule) -> Result<()> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let Some(before) = sql::rules::bcc_rule_of(&mut tx, did, p.id).await? else {
        return Err(Error::not_found(format!("{domain} has no BCC rule {}", p.id)).with_field("id"));
    };
    sql::rules::delete_bcc(&mut tx, p.id).await?;
    let target = format!("bcc rule {}", p.id);
    let change = Change { action: RemoveBccRule::NAME, domain: Some(&domain), target: &target };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- BCC rule files (XLSX) --------------------------------------------------------------

/// What makes two BCC rules the same: the mail they look at and where the copy goes.
type BccKey = (&'static str, Option<String>, Option<String>, String);

fn bcc_key(r: &BccRule) -> BccKey {
    (r.direction.name(), r.sender.clone(), r.recipient.clone(), r.copy_to.clone())
}

pub(crate) async fn import_bcc(b: &EngineBackend, p: ImportBccRules) -> Result<ImportedRows> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let (file_name, rows) = import::read_upload(&p.file_name, &p.content_base64, xlsx::read_bcc_rules).await?;
    let col = |i: usize| xlsx::BCC_COLUMNS[i].to_string();
    let mut errors: Vec<RowError> = Vec::new();
    macro_rules! error {
        ($row:expr, $column:expr, $message:expr) => {
            errors.push(RowError { row: $row, column: col($column), message: $message })
        };
    }
    let strip = |e: Error, field: &str| e.message.trim_start_matches(field).trim_start().to_string();
    // Each row as add_bcc_rule checks its fields (before the write transaction, as there:
    // whether a copy can be delivered is answered by the resolver).
    let mut checked: Vec<(u32, BccRule)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let name = match validate::text("name", &r.name, 100) {
            Err(e) => Err(strip(e, "name")),
            Ok(n) if n.is_empty() => Err("is empty; give the rule a name".to_string()),
            Ok(n) => Ok(n),
        };
        let name = name.map_err(|m| error!(r.row, 0, m)).ok();
        let shown = r.direction.trim().to_ascii_lowercase();
        let direction = match shown.as_str() {
            "" => Some(RuleDirection::Both),
            d => RuleDirection::parse(d).or_else(|| {
                error!(r.row, 1, format!("'{}' is not a direction; use inbound, outbound or both", r.direction.trim()));
                None
            }),
        };
        let sender = condition("sender", Some(r.sender.as_str())).map_err(|e| error!(r.row, 2, e.message)).ok();
        let recipient =
            condition("recipient", Some(r.recipient.as_str())).map_err(|e| error!(r.row, 3, e.message)).ok();
        let copy_to = match validate::address(&r.copy_to) {
            Err(_) if r.copy_to.trim().is_empty() => {
                error!(r.row, 4, "is empty; say where the copy goes".into());
                None
            }
            Err(e) => {
                error!(r.row, 4, format!("{} ('{}')", e.message, r.copy_to.trim()));
                None
            }
            Ok(a) => {
                let mut ok = true;
                if b.engine.is_local_domain(&a.domain).await? {
                    if let Err(e) = b.caller.require(Page::Policy, Some(&a.domain)) {
                        return Err(Error::permission_denied(format!("row {}, {}: {}", r.row, col(4), e.message)));
                    }
                    if let Err(e) = b.engine.resolve_recipient(&a.full()).await {
                        error!(r.row, 4, format!("the copy cannot be delivered: {}", e.message));
                        ok = false;
                    }
                }
                ok.then(|| a.full())
            }
        };
        if let (Some(name), Some(direction), Some(sender), Some(recipient), Some(copy_to)) =
            (name, direction, sender, recipient, copy_to)
        {
            let rule = BccRule { id: 0, domain: domain.clone(), name, direction, sender, recipient, copy_to };
            checked.push((r.row, rule));
        }
    }
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let existing = sql::rules::bcc_page(&mut tx, did, 0, MAX_BCC_RULES + 1).await?;
    let mut seen: std::collections::HashMap<BccKey, String> =
        existing.iter().map(|r| (bcc_key(r), format!("the rule {} ({})", r.id, r.name))).collect();
    for (row, rule) in &checked {
        match seen.get(&bcc_key(rule)) {
            Some(other) => error!(*row, 4, format!("{other} already copies the same mail to {}", rule.copy_to)),
            None => {
                seen.insert(bcc_key(rule), format!("row {row}"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal_in(errors, &xlsx::BCC_COLUMNS));
    }
    import::check_rule_room(&domain, "BCC rules", MAX_BCC_RULES, existing.len(), checked.len())?;
    let at = super::now();
    let mut added = Vec::with_capacity(checked.len());
    for (_, mut rule) in checked {
        rule.id = sql::rules::insert_bcc(&mut tx, did, &rule, &at).await?;
        added.push(rule);
    }
    let outcome =
        import::audit_rule_import(&mut tx, &b.caller.name, ImportBccRules::NAME, &domain, &file_name, &added).await?;
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn export_bcc(b: &EngineBackend, p: ExportBccRules) -> Result<ExportedFile> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let rules = {
        let mut conn = b.engine.read().await?;
        let did = domain_id(&mut conn, &domain).await?;
        sql::rules::bcc_page(&mut conn, did, 0, MAX_BCC_RULES + 1).await?
    };
    let n = rules.len() as u32;
    import::exported(import::export_name("bcc-rules", &domain), n, move || xlsx::write_bcc_rules(&rules)).await
}

pub(crate) async fn bcc_template(b: &EngineBackend, _: BccRulesTemplate) -> Result<ExportedFile> {
    b.caller.require_page(Page::Policy)?;
    import::exported("postdesk-bcc-rules-template.xlsx".into(), 0, xlsx::bcc_rules_template).await
}

impl Engine {
    /// Every automatic-BCC rule (for the mail services; no caller).
    pub async fn bcc_rules(&self) -> Result<Vec<BccRule>> {
        sql::rules::all_bcc(&mut *self.read().await?).await
    }
}

// ---- disclaimers -----------------------------------------------------------------------

pub(crate) async fn list_disclaimers(b: &EngineBackend, p: ListDisclaimerRules) -> Result<CursorPage<DisclaimerRule>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let after = id_cursor(p.after.as_deref())?.unwrap_or(0);
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let rows = sql::rules::disclaimer_page(&mut conn, did, after, limit + 1).await?;
    Ok(page_of(rows, limit, |r| r.position.to_string()))
}

/// A disclaimer variant: CRLF as LF, 1..=MAX bytes (the HTML may be absent), no control
/// characters but newline and tab.
fn variant(field: &str, input: &str) -> Result<String> {
    let t = input.replace("\r\n", "\n");
    if t.len() > MAX_DISCLAIMER_TEXT {
        return Err(Error::validation(format!("{field} is longer than {MAX_DISCLAIMER_TEXT} bytes")).with_field(field));
    }
    let t = validate::text(field, &t, MAX_DISCLAIMER_TEXT)?;
    if t.is_empty() {
        return Err(Error::validation(format!("{field} is empty")).with_field(field));
    }
    Ok(t)
}

pub(crate) async fn add_disclaimer(b: &EngineBackend, p: AddDisclaimerRule) -> Result<DisclaimerRule> {
    save_disclaimer(b, p, None).await
}

pub(crate) async fn update_disclaimer(b: &EngineBackend, p: UpdateDisclaimerRule) -> Result<DisclaimerRule> {
    let (id, p) = p.into_parts();
    save_disclaimer(b, p, Some(id)).await
}

/// Adds a disclaimer rule last in the order, or with `replacing` changes that rule in place
/// (same id and place).
async fn save_disclaimer(b: &EngineBackend, p: AddDisclaimerRule, replacing: Option<i64>) -> Result<DisclaimerRule> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let name = validate::text("name", &p.name, 100)?;
    if name.is_empty() {
        return Err(Error::validation("give the rule a name").with_field("name"));
    }
    let sender = condition("sender", p.sender.as_deref())?;
    let recipient = condition("recipient", p.recipient.as_deref())?;
    let except_sender = condition("except_sender", p.except_sender.as_deref())?;
    let except_recipient = condition("except_recipient", p.except_recipient.as_deref())?;
    let text = variant("text", &p.text)?;
    let html = match p.html.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => Some(variant("html", h)?),
        None => None,
    };
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    // Departments by their path as the tree spells it (a rename later leaves the rule on
    // the old path: the explainer shows it).
    let tree = super::departments::Tree::load(&mut tx, did, &domain).await?;
    let department_of = |field: &str, input: Option<&str>| -> Result<Option<String>> {
        match input.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(path) => tree.resolve(path).map(|id| Some(tree.path(id))).map_err(|e| e.with_field(field)),
        }
    };
    let department = department_of("department", p.department.as_deref())?;
    let except_department = department_of("except_department", p.except_department.as_deref())?;
    let existing = sql::rules::disclaimers_of(&mut tx, did).await?;
    let before =
        match replacing {
            None => None,
            Some(id) => {
                Some(existing.iter().find(|r| r.id == id).cloned().ok_or_else(|| {
                    Error::not_found(format!("{domain} has no disclaimer rule {id}")).with_field("id")
                })?)
            }
        };
    if before.is_none() && existing.len() as u32 >= MAX_DISCLAIMER_RULES {
        return Err(Error::limit_exceeded(format!(
            "{domain} has {MAX_DISCLAIMER_RULES} disclaimer rules, the most a domain may have"
        )));
    }
    let mut rule = DisclaimerRule {
        id: 0,
        domain: domain.clone(),
        position: before.as_ref().map_or(existing.len() as u32 + 1, |r| r.position),
        name,
        scope: p.scope.unwrap_or_default(),
        sender,
        recipient,
        department,
        except_sender,
        except_recipient,
        except_department,
        text,
        html,
    };
    rule.id = sql::rules::insert_disclaimer(&mut tx, did, &rule, &super::now()).await?;
    if let Some(old) = &before {
        sql::rules::replace_id(&mut tx, "disclaimer_rules", rule.id, old.id).await?;
        rule.id = old.id;
    }
    let target = format!("disclaimer rule {}", rule.id);
    let action = if before.is_some() { UpdateDisclaimerRule::NAME } else { AddDisclaimerRule::NAME };
    let change = Change { action, domain: Some(&domain), target: &target };
    audit::record(&mut tx, &b.caller.name, change, before.as_ref(), Some(&rule)).await?;
    tx.commit().await?;
    Ok(rule)
}

/// Writes positions 1..n in the order of `rules`.
async fn renumber(tx: &mut sql::Conn, rules: &mut [DisclaimerRule]) -> Result<()> {
    for (i, r) in rules.iter_mut().enumerate() {
        let position = i as u32 + 1;
        if r.position != position {
            sql::rules::set_disclaimer_position(tx, r.id, position).await?;
            r.position = position;
        }
    }
    Ok(())
}

pub(crate) async fn move_disclaimer(b: &EngineBackend, p: MoveDisclaimerRule) -> Result<Vec<DisclaimerRule>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    if p.position == 0 {
        return Err(Error::validation("positions start at 1").with_field("position"));
    }
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let mut rules = sql::rules::disclaimers_of(&mut tx, did).await?;
    let Some(from) = rules.iter().position(|r| r.id == p.id) else {
        return Err(Error::not_found(format!("{domain} has no disclaimer rule {}", p.id)).with_field("id"));
    };
    let before = rules[from].clone();
    let moved = rules.remove(from);
    let to = (p.position as usize - 1).min(rules.len());
    rules.insert(to, moved);
    renumber(&mut tx, &mut rules).await?;
    let target = format!("disclaimer rule {}", p.id);
    let change = Change { action: MoveDisclaimerRule::NAME, domain: Some(&domain), target: &target };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&rules[to])).await?;
    tx.commit().await?;
    Ok(rules)
}

pub(crate) async fn remove_disclaimer(b: &EngineBackend, p: RemoveDisclaimerRule) -> Result<()> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let mut rules = sql::rules::disclaimers_of(&mut tx, did).await?;
    let Some(at) = rules.iter().position(|r| r.id == p.id) else {
        return Err(Error::not_found(format!("{domain} has no disclaimer rule {}", p.id)).with_field("id"));
    };
    let before = rules.remove(at);
    sql::rules::delete_disclaimer(&mut tx, p.id).await?;
    renumber(&mut tx, &mut rules).await?;
    let target = format!("disclaimer rule {}", p.id);
    let change = Change { action: RemoveDisclaimerRule::NAME, domain: Some(&domain), target: &target };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- disclaimer rule files (XLSX) -------------------------------------------------------

/// What makes two disclaimer rules fire for the same mail: scope, conditions and
/// exceptions. Of two such rules only the first in the order is ever appended.
type DisclaimerKey = (&'static str, [Option<String>; 6]);

fn disclaimer_key(r: &DisclaimerRule) -> DisclaimerKey {
    let lower = |v: &Option<String>| v.as_ref().map(|d| d.to_lowercase());
    (
        r.scope.name(),
        [
            r.sender.clone(),
            r.recipient.clone(),
            lower(&r.department),
            r.except_sender.clone(),
            r.except_recipient.clone(),
            lower(&r.except_department),
        ],
    )
}

pub(crate) async fn import_disclaimers(b: &EngineBackend, p: ImportDisclaimerRules) -> Result<ImportedRows> {
    use postdesk_contract::rules::DisclaimerScope;
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let (file_name, rows) = import::read_upload(&p.file_name, &p.content_base64, xlsx::read_disclaimer_rules).await?;
    let col = |i: usize| xlsx::DISCLAIMER_COLUMNS[i].to_string();
    let mut errors: Vec<RowError> = Vec::new();
    macro_rules! error {
        ($row:expr, $column:expr, $message:expr) => {
            errors.push(RowError { row: $row, column: col($column), message: $message })
        };
    }
    let strip = |e: Error, field: &str| e.message.trim_start_matches(field).trim_start().to_string();
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = super::departments::Tree::load(&mut tx, did, &domain).await?;
    // Each row as add_disclaimer_rule checks its fields.
    let mut checked: Vec<(u32, DisclaimerRule)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let name = match validate::text("name", &r.name, 100) {
            Err(e) => Err(strip(e, "name")),
            Ok(n) if n.is_empty() => Err("is empty; give the rule a name".to_string()),
            Ok(n) => Ok(n),
        };
        let name = name.map_err(|m| error!(r.row, 0, m)).ok();
        let scope = match r.scope.trim().to_ascii_lowercase().as_str() {
            "" => Some(DisclaimerScope::Any),
            s => DisclaimerScope::parse(s).or_else(|| {
                error!(r.row, 1, format!("'{}' is not a scope; use any, internal or external", r.scope.trim()));
                None
            }),
        };
        let mut conditions = [None, None, None, None];
        for (i, (column, field, input)) in [
            (2, "sender", &r.sender),
            (3, "recipient", &r.recipient),
            (5, "except_sender", &r.except_sender),
            (6, "except_recipient", &r.except_recipient),
        ]
        .into_iter()
        .enumerate()
        {
            conditions[i] = condition(field, Some(input.as_str())).map_err(|e| error!(r.row, column, e.message)).ok();
        }
        let mut departments = [None, None];
        for (i, (column, input)) in [(4, &r.department), (7, &r.except_department)].into_iter().enumerate() {
            departments[i] = match input.trim() {
                "" => Some(None),
                path => {
                    tree.resolve(path).map(|id| Some(tree.path(id))).map_err(|e| error!(r.row, column, e.message)).ok()
                }
            };
        }
        let text = match variant("text", &r.text) {
            Err(_) if r.text.trim().is_empty() => {
                error!(r.row, 8, "is empty; write the disclaimer's text".into());
                None
            }
            Err(e) => {
                error!(r.row, 8, strip(e, "text"));
                None
            }
            Ok(t) => Some(t),
        };
        let html = match r.html.trim() {
            "" => Some(None),
            h => variant("html", h).map(Some).map_err(|e| error!(r.row, 9, strip(e, "html"))).ok(),
        };
        let [sender, recipient, except_sender, except_recipient] = conditions;
        let [department, except_department] = departments;
        if let (
            Some(name),
            Some(scope),
            Some(sender),
            Some(recipient),
            Some(department),
            Some(except_sender),
            Some(except_recipient),
            Some(except_department),
            Some(text),
            Some(html),
        ) =
            (name, scope, sender, recipient, department, except_sender, except_recipient, except_department, text, html)
        {
            let rule = DisclaimerRule {
                id: 0,
                domain: domain.clone(),
                position: 0,
                name,
                scope,
                sender,
                recipient,
                department,
                except_sender,
                except_recipient,
                except_department,
                text,
                html,
            };
            checked.push((r.row, rule));
        }
    }
    let existing = sql::rules::disclaimers_of(&mut tx, did).await?;
    let mut seen: std::collections::HashMap<DisclaimerKey, String> = std::collections::HashMap::new();
    for r in &existing {
        seen.entry(disclaimer_key(r))
            .or_insert_with(|| format!("the rule {} ({}, position {})", r.id, r.name, r.position));
    }
    for (row, rule) in &checked {
        match seen.get(&disclaimer_key(rule)) {
            Some(other) => error!(
                *row,
                8,
                format!(
                    "{other} has the same scope, conditions and exceptions and is tried first: this disclaimer would never be appended"
                )
            ),
            None => {
                seen.insert(disclaimer_key(rule), format!("row {row}"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal_in(errors, &xlsx::DISCLAIMER_COLUMNS));
    }
    import::check_rule_room(&domain, "disclaimer rules", MAX_DISCLAIMER_RULES, existing.len(), checked.len())?;
    let at = super::now();
    let mut added = Vec::with_capacity(checked.len());
    for (i, (_, mut rule)) in checked.into_iter().enumerate() {
        rule.position = (existing.len() + i) as u32 + 1;
        rule.id = sql::rules::insert_disclaimer(&mut tx, did, &rule, &at).await?;
        added.push(rule);
    }
    let outcome =
        import::audit_rule_import(&mut tx, &b.caller.name, ImportDisclaimerRules::NAME, &domain, &file_name, &added)
            .await?;
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn export_disclaimers(b: &EngineBackend, p: ExportDisclaimerRules) -> Result<ExportedFile> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let rules = {
        let mut conn = b.engine.read().await?;
        let did = domain_id(&mut conn, &domain).await?;
        sql::rules::disclaimers_of(&mut conn, did).await?
    };
    let (name, n) = (import::export_name("disclaimer-rules", &domain), rules.len() as u32);
    import::exported(name, n, move || xlsx::write_disclaimer_rules(&rules)).await
}

pub(crate) async fn disclaimer_template(b: &EngineBackend, _: DisclaimerRulesTemplate) -> Result<ExportedFile> {
    b.caller.require_page(Page::Policy)?;
    import::exported("postdesk-disclaimer-rules-template.xlsx".into(), 0, xlsx::disclaimer_rules_template).await
}

impl Engine {
    /// Every disclaimer rule (for the mail services; no caller), by domain and position.
    pub async fn disclaimer_rules(&self) -> Result<Vec<DisclaimerRule>> {
        sql::rules::all_disclaimers(&mut *self.read().await?).await
    }
}

// ---- daily send quota --------------------------------------------------------------------

/// The day (`YYYY-MM-DD`) that `now` (UNIX seconds) falls on at `offset` minutes east of UTC,
/// and the day 29 days before it (the first of the last 30).
fn days(now: i64, offset: i32) -> (String, String, time::Date) {
    let local = time::OffsetDateTime::from_unix_timestamp(now + i64::from(offset) * 60)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    let first = local.checked_sub(time::Duration::days(29)).unwrap_or(local);
    (local.to_string(), first.to_string(), local)
}

/// `UTC+01:00` for 60.
fn zone(offset: i32) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60)
}

impl Engine {
    /// See [`Directory::daily_send`](postdesk_contract::mail::Directory::daily_send).
    pub async fn daily_send(&self, account: &str, bytes: Option<u64>, now: i64) -> Result<Option<String>> {
        let mut conn = self.read().await?;
        let Some(id) = sql::settings::account_id(&mut conn, account).await? else { return Ok(None) };
        let e = super::settings::effective(&mut conn, id).await?.values.values();
        drop(conn);
        let (limit_m, limit_mb) = (e.daily_send_messages, e.daily_send_mb);
        let (day, oldest, _) = days(now, e.utc_offset_minutes);
        let limit_bytes = u64::from(limit_mb) * 1024 * 1024;
        let refusal = |what: String| {
            Some(format!(
                "{account} has reached its daily limit of {what} sent to other domains; it may send outside again \
                 from 00:00 ({})",
                zone(e.utc_offset_minutes)
            ))
        };
        // Whether one more message of `size` bytes (0: any size, asked at RCPT) still fits.
        let judge = |messages: u64, used: u64, size: u64| {
            if limit_m > 0 && messages >= u64::from(limit_m) {
                return refusal(format!("{limit_m} messages"));
            }
            if limit_mb > 0 && (used >= limit_bytes || used + size > limit_bytes) {
                return refusal(format!("{limit_mb} MB"));
            }
            None
        };
        if limit_m == 0 && limit_mb == 0 && bytes.is_none() {
            return Ok(None);
        }
        let Some(size) = bytes else {
            let (m, b) = sql::rules::daily_sent(&mut *self.read().await?, id, &day).await?;
            return Ok(judge(m as u64, b as u64, 0));
        };
        let mut tx = self.write().await?;
        let (m, b) = sql::rules::daily_sent(&mut tx, id, &day).await?;
        if let Some(refused) = judge(m as u64, b as u64, size) {
            return Ok(Some(refused));
        }
        sql::rules::count_daily_send(&mut tx, id, &day, size as i64, &oldest).await?;
        tx.commit().await?;
        Ok(None)
    }
}

pub(crate) async fn list_usage(b: &EngineBackend, p: ListOutboundUsage) -> Result<CursorPage<OutboundUsage>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let offset = super::settings::domain_effective(&mut conn, &domain, &domain).await?.values.utc_offset_minutes.value;
    let (day, since, _) = days(time::OffsetDateTime::now_utc().unix_timestamp(), offset);
    let rows =
        sql::rules::usage_page(&mut conn, did, &day, &since, p.after.as_deref().unwrap_or(""), limit + 1).await?;
    let mut items = Vec::with_capacity(rows.len());
    for (id, address, tm, tb, mm, mb) in rows {
        let e = super::settings::effective(&mut conn, id).await?.values.values();
        let (tm, tb) = (tm.max(0) as u64, tb.max(0) as u64);
        items.push(OutboundUsage {
            address,
            today_messages: tm,
            today_bytes: tb,
            month_messages: mm.max(0) as u64,
            month_bytes: mb.max(0) as u64,
            limit_messages: e.daily_send_messages,
            limit_mb: e.daily_send_mb,
            state: quota_state(tm, tb, e.daily_send_messages, e.daily_send_mb),
        });
    }
    Ok(page_of(items, limit, |u| u.address.clone()))
}

/// The mail rules on the path that act on `envelope` (for the explainer): the BCC rules that
/// fire, the disclaimer that would be appended, the monitoring rules that may fire (with
/// the size and keyword conditions the explainer cannot judge named), then the acting
/// account's daily send quota when it sends to another domain.
pub(crate) async fn fired(
    engine: &Engine,
    envelope: &postdesk_contract::policy::Envelope,
    now: i64,
) -> Result<Vec<postdesk_contract::rules::FiredRule>> {
    use postdesk_contract::rules::FiredRule;
    let mut out = Vec::new();
    for r in engine.bcc_rules().await?.iter().filter(|r| r.fires(&envelope.sender, &envelope.recipients)) {
        out.push(FiredRule {
            kind: "auto_bcc".into(),
            name: r.name.clone(),
            set_in: format!("domain {}", r.domain),
            effect: format!("a blind copy to {}", r.copy_to),
        });
    }
    let mut outside = false;
    for r in &envelope.recipients {
        outside |= !engine.is_local_domain(r.rsplit_once('@').map_or("", |(_, d)| d)).await?;
    }
    // The disclaimer the mail path would append (submitted mail only; the first by position).
    let submitted =
        envelope.authenticated_user.is_some() || envelope.protocol != postdesk_contract::policy::ClientProtocol::Mx;
    if submitted {
        let rules = engine.disclaimer_rules().await?;
        let department = match postdesk_contract::mail::Directory::effective_settings(engine, &envelope.sender).await {
            Ok(e) => e.department,
            Err(_) => None,
        };
        let facts = postdesk_contract::rules::DisclaimerFacts {
            sender: &envelope.sender,
            recipients: &envelope.recipients,
            any_external: outside,
            department: department.as_deref(),
        };
        if let Some(r) = postdesk_contract::rules::first_disclaimer(&rules, &facts) {
            out.push(FiredRule {
                kind: "disclaimer".into(),
                name: r.name.clone(),
                set_in: format!("domain {} (position {})", r.domain, r.position),
                effect: format!(
                    "{} (once; signed mail is left untouched; plain text: '{}')",
                    r.describe(),
                    r.text.chars().take(80).collect::<String>()
                ),
            });
        }
    }
    monitors(engine, envelope, &mut out).await?;
    forwards(engine, envelope, &mut out).await?;
    let Some(account) = envelope.authenticated_user.as_deref() else { return Ok(out) };
    let mut conn = engine.read().await?;
    let owner = match sql::policy::kind_of(&mut conn, account).await? {
        Some((_, Some(owner))) => owner,
        _ => return Ok(out),
    };
    let Some(id) = sql::settings::account_id(&mut conn, &owner).await? else { return Ok(out) };
    let e = super::settings::effective(&mut conn, id).await?.values;
    let (limit_m, limit_mb) = (e.daily_send_messages.value, e.daily_send_mb.value);
    if !outside || (limit_m == 0 && limit_mb == 0) {
        return Ok(out);
    }
    let (day, _, _) = days(now, e.utc_offset_minutes.value);
    let (m, b) = sql::rules::daily_sent(&mut conn, id, &day).await?;
    drop(conn);
    let source = if limit_m > 0 { &e.daily_send_messages.source } else { &e.daily_send_mb.source };
    let used = format!(
        "{owner} sent {m} messages ({:.1} MB) to other domains today; its limit: {}",
        b as f64 / (1024.0 * 1024.0),
        [(limit_m > 0).then(|| format!("{limit_m} messages")), (limit_mb > 0).then(|| format!("{limit_mb} MB"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let effect = match engine.daily_send(&owner, None, now).await? {
        Some(refused) => format!("{used}. Refused (550 5.4.5): {refused}"),
        None => format!("{used}. Allowed"),
    };
    out.push(FiredRule {
        kind: "daily_send_quota".into(),
        name: "daily send quota".into(),
        set_in: source.label.to_string(),
        effect,
    });
    Ok(out)
}

/// The users' own forwarding of the mailboxes the recipients reach, for the explainer: where
/// the copies go, or why not (the mailbox's `auto_forward` setting and where it is set).
async fn forwards(
    engine: &Engine,
    envelope: &postdesk_contract::policy::Envelope,
    out: &mut Vec<postdesk_contract::rules::FiredRule>,
) -> Result<()> {
    let all = engine.forwardings().await?;
    if all.is_empty() {
        return Ok(());
    }
    let mut reached = std::collections::BTreeSet::new();
    for rcpt in &envelope.recipients {
        if let Ok(r) = engine.resolve_recipient(rcpt).await {
            reached.extend(r.mailboxes);
        }
    }
    for f in all.iter().filter(|f| reached.contains(&f.address)) {
        let settings = postdesk_contract::mail::Directory::effective_settings(engine, &f.address).await?;
        let auto = &settings.values.auto_forward;
        let effect = if auto.value {
            let copy = if f.keep_copy { "the mailbox keeps its copy" } else { "the mailbox keeps no copy" };
            format!("a copy to {} (other domains with an SRS sender); {copy}", f.targets.join(", "))
        } else {
            format!(
                "not used: automatic forwarding is off for {} ({}); the mailbox keeps the message",
                f.address, auto.source.label
            )
        };
        out.push(postdesk_contract::rules::FiredRule {
            kind: "forwarding".into(),
            name: format!("forwarding of {}", f.address),
            set_in: format!("the user portal of {}", f.address),
            effect,
        });
    }
    Ok(())
}

/// The monitoring rules that may fire for `envelope`, for the explainer.
async fn monitors(
    engine: &Engine,
    envelope: &postdesk_contract::policy::Envelope,
    out: &mut Vec<postdesk_contract::rules::FiredRule>,
) -> Result<()> {
    use postdesk_contract::monitor::{MonitorFacts, Party};
    let rules = engine.monitor_rules().await?;
    if rules.is_empty() {
        return Ok(());
    }
    let sender = envelope.sender.to_ascii_lowercase();
    let recipients: Vec<String> = envelope.recipients.iter().map(|r| r.to_ascii_lowercase()).collect();
    let mut any_external = false;
    let mut people = Vec::new();
    for a in std::iter::once(&sender).chain(&recipients) {
        if engine.is_local_domain(a.rsplit_once('@').map_or("", |(_, d)| d)).await? {
            let department = match postdesk_contract::mail::Directory::effective_settings(engine, a).await {
                Ok(e) => e.department,
                Err(_) => None,
            };
            people.push((a.clone(), department));
        } else {
            any_external = true;
        }
    }
    let parties: Vec<Party<'_>> = people.iter().map(|(a, d)| Party { address: a, department: d.as_deref() }).collect();
    let facts = MonitorFacts { sender: &sender, recipients: &recipients, any_external, size: 0, text: "" };
    for r in rules.iter().filter(|r| r.may_fire(&facts, &parties)) {
        let unknowns = r.unknowns();
        let when = if unknowns.is_empty() { String::new() } else { format!(" ({})", unknowns.join(", ")) };
        out.push(postdesk_contract::rules::FiredRule {
            kind: "monitor".into(),
            name: r.name.clone(),
            set_in: format!("domain {} (watching {})", r.domain, r.scope_text()),
            effect: format!("{}{when}", r.effect()),
        });
    }
    Ok(())
}
