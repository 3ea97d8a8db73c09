//! Monitoring and copy rules (seed 004), their admin operations: page `policy` on the
//! rule's domain (and, for a copy, on the monitor mailbox's domain); every change audited in
//! its transaction; also as XLSX files (import, export, template). The mail path reads every rule through [`Engine::monitor_rules`] and
//! matches them with the contract's pure [`MonitorRule::fires`].

use postdesk_contract::monitor::{MAX_KEYWORD, MAX_MONITOR_RULES, MonitorAction, MonitorRule, MonitorTraffic};
use postdesk_contract::rules::condition;

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result, RowError};
use crate::import;
use crate::model::{CursorPage, ExportedFile, ImportedRows, Page, id_cursor, page_limit, page_of};
use crate::sql;
use crate::{Engine, EngineBackend, Operation, domain_id, validate, xlsx};

/// Largest size condition, in KB (1 GiB: larger than any message we take).
const MAX_MIN_SIZE_KB: u32 = 1024 * 1024;

pub(crate) async fn list(b: &EngineBackend, p: ListMonitorRules) -> Result<CursorPage<MonitorRule>> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let limit = page_limit(p.limit)?;
    let after = id_cursor(p.after.as_deref())?.unwrap_or(0);
    let mut conn = b.engine.read().await?;
    let did = domain_id(&mut conn, &domain).await?;
    let rows = sql::monitor::page(&mut conn, did, after, limit + 1).await?;
    Ok(page_of(rows, limit, |r| r.id.to_string()))
}

/// A keyword: trimmed, 1..=MAX_KEYWORD characters, no control characters; empty → none.
fn keyword(field: &str, input: Option<&str>) -> Result<Option<String>> {
    let Some(t) = input.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if t.chars().count() > MAX_KEYWORD {
        return Err(Error::validation(format!("{field} is longer than {MAX_KEYWORD} characters")).with_field(field));
    }
    Ok(Some(validate::text(field, t, MAX_KEYWORD * 4)?))
}

/// A size condition: 1..=MAX_MIN_SIZE_KB.
fn min_size(kb: u32) -> Result<u32> {
    if kb == 0 || kb > MAX_MIN_SIZE_KB {
        return Err(
            Error::validation(format!("the size condition is 1 to {MAX_MIN_SIZE_KB} KB")).with_field("min_size_kb")
        );
    }
    Ok(kb)
}

/// A copy's monitor mailbox: an address of ours, in a domain the caller manages (else
/// permission denied), that delivers somewhere.
async fn copy_target(b: &EngineBackend, input: &str) -> Result<String> {
    let to = validate::address(input)
        .map_err(|e| Error { message: format!("{} ('{}')", e.message, input.trim()), ..e }.with_field("target"))?;
    if !b.engine.is_local_domain(&to.domain).await? {
        return Err(Error::validation(format!("the monitor mailbox must be one of ours; {} is elsewhere", to.full()))
            .with_field("target"));
    }
    b.caller.require(Page::Policy, Some(&to.domain))?;
    if let Err(e) = b.engine.resolve_recipient(&to.full()).await {
        return Err(Error { message: format!("the copy cannot be delivered: {}", e.message), ..e }.with_field("target"));
    }
    Ok(to.full())
}

/// A folder to file into: 1–255 characters, no control characters, not INBOX.
fn folder_target(input: &str) -> Result<String> {
    let f = input.trim();
    if f.is_empty() || f.len() > 255 || f.chars().any(char::is_control) || f.eq_ignore_ascii_case("INBOX") {
        return Err(Error::validation(format!("'{f}' is not a folder to file into (1–255 characters, not INBOX)"))
            .with_field("target"));
    }
    Ok(f.to_string())
}

/// The watched account, as given: an address of `domain`; empty → none.
fn scope_account_of(domain: &str, input: Option<&str>) -> Result<Option<String>> {
    let Some(a) = input.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    let a = validate::address(a).map_err(|e| e.with_field("scope_account"))?;
    if !a.domain.eq_ignore_ascii_case(domain) {
        return Err(
            Error::validation(format!("{} is not an account of {domain}", a.full())).with_field("scope_account")
        );
    }
    Ok(Some(a.full()))
}

/// Whether the watched account is an account (not an alias or a group).
async fn account_exists(tx: &mut sql::Conn, domain: &str, account: &str) -> Result<()> {
    if sql::settings::account_id(tx, account).await?.is_none() {
        return Err(Error::validation(format!("{account} is not an account of {domain}")).with_field("scope_account"));
    }
    Ok(())
}

fn both_scopes() -> Error {
    Error::validation("a rule watches a department or an account, not both").with_field("scope_department")
}

pub(crate) async fn add(b: &EngineBackend, p: AddMonitorRule) -> Result<MonitorRule> {
    save(b, p, None).await
}

pub(crate) async fn update(b: &EngineBackend, p: UpdateMonitorRule) -> Result<MonitorRule> {
    let (id, p) = p.into_parts();
    save(b, p, Some(id)).await
}

/// Adds a monitoring rule, or with `replacing` changes that rule in place (same id).
async fn save(b: &EngineBackend, p: AddMonitorRule, replacing: Option<i64>) -> Result<MonitorRule> {
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
    let keyword_ = keyword("keyword", p.keyword.as_deref())?;
    let except_keyword = keyword("except_keyword", p.except_keyword.as_deref())?;
    if let Some(kb) = p.min_size_kb {
        min_size(kb)?;
    }
    let action = p.action.unwrap_or_default();
    let target = match action {
        MonitorAction::Copy => copy_target(b, &p.target).await?,
        MonitorAction::Folder => folder_target(&p.target)?,
    };
    let scope_account = scope_account_of(&domain, p.scope_account.as_deref())?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    if let Some(a) = &scope_account {
        account_exists(&mut tx, &domain, a).await?;
    }
    let scope_department = match p.scope_department.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(path) => {
            if scope_account.is_some() {
                return Err(both_scopes());
            }
            let tree = super::departments::Tree::load(&mut tx, did, &domain).await?;
            Some(tree.resolve(path).map(|id| tree.path(id)).map_err(|e| e.with_field("scope_department"))?)
        }
    };
    let before = match replacing {
        None => None,
        Some(id) => Some(
            sql::monitor::of(&mut tx, did, id)
                .await?
                .ok_or_else(|| Error::not_found(format!("{domain} has no monitoring rule {id}")).with_field("id"))?,
        ),
    };
    if before.is_none() && sql::monitor::count(&mut tx, did).await? >= MAX_MONITOR_RULES {
        return Err(Error::limit_exceeded(format!(
            "{domain} has {MAX_MONITOR_RULES} monitoring rules, the most a domain may have"
        )));
    }
    let mut rule = MonitorRule {
        id: 0,
        domain: domain.clone(),
        name,
        scope_department,
        scope_account,
        traffic: p.traffic.unwrap_or_default(),
        sender,
        recipient,
        min_size_kb: p.min_size_kb,
        keyword: keyword_,
        except_sender,
        except_recipient,
        except_keyword,
        action,
        target,
    };
    rule.id = sql::monitor::insert(&mut tx, did, &rule, &super::now()).await?;
    if let Some(old) = &before {
        sql::rules::replace_id(&mut tx, "monitor_rules", rule.id, old.id).await?;
        rule.id = old.id;
    }
    let target = format!("monitor rule {}", rule.id);
    let action = if before.is_some() { UpdateMonitorRule::NAME } else { AddMonitorRule::NAME };
    let change = Change { action, domain: Some(&domain), target: &target };
    audit::record(&mut tx, &b.caller.name, change, before.as_ref(), Some(&rule)).await?;
    tx.commit().await?;
    Ok(rule)
}

pub(crate) async fn remove(b: &EngineBackend, p: RemoveMonitorRule) -> Result<()> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let Some(before) = sql::monitor::of(&mut tx, did, p.id).await? else {
        return Err(Error::not_found(format!("{domain} has no monitoring rule {}", p.id)).with_field("id"));
    };
    sql::monitor::delete(&mut tx, p.id).await?;
    let target = format!("monitor rule {}", p.id);
    let change = Change { action: RemoveMonitorRule::NAME, domain: Some(&domain), target: &target };
    audit::record::<_, ()>(&mut tx, &b.caller.name, change, Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

// ---- monitoring rule files (XLSX) -------------------------------------------------------

/// A rule's content without its id and name (keywords in lower case, as they are matched):
/// two rules with the same do the same to the same mail.
fn same_key(r: &MonitorRule) -> String {
    let lower = |k: &Option<String>| k.as_ref().map(|k| k.to_lowercase());
    let rule = MonitorRule {
        id: 0,
        name: String::new(),
        keyword: lower(&r.keyword),
        except_keyword: lower(&r.except_keyword),
        ..r.clone()
    };
    serde_json::to_string(&rule).unwrap_or_default()
}

pub(crate) async fn import(b: &EngineBackend, p: ImportMonitorRules) -> Result<ImportedRows> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let (file_name, rows) = import::read_upload(&p.file_name, &p.content_base64, xlsx::read_monitor_rules).await?;
    let col = |i: usize| xlsx::MONITOR_COLUMNS[i].to_string();
    let mut errors: Vec<RowError> = Vec::new();
    macro_rules! error {
        ($row:expr, $column:expr, $message:expr) => {
            errors.push(RowError { row: $row, column: col($column), message: $message })
        };
    }
    let strip = |e: Error, field: &str| e.message.trim_start_matches(field).trim_start().to_string();
    // Each row as add_monitor_rule checks its fields: first what needs no transaction (the
    // resolver answers whether a copy can be delivered), then departments and accounts.
    struct Checked {
        row: u32,
        /// The rule, when every field of the first pass is right.
        rule: Option<MonitorRule>,
        account: Option<String>,
        department: Option<String>,
    }
    let mut checked: Vec<Checked> = Vec::with_capacity(rows.len());
    for r in &rows {
        let name = match validate::text("name", &r.name, 100) {
            Err(e) => Err(strip(e, "name")),
            Ok(n) if n.is_empty() => Err("is empty; give the rule a name".to_string()),
            Ok(n) => Ok(n),
        };
        let name = name.map_err(|m| error!(r.row, 0, m)).ok();
        let scope_account =
            scope_account_of(&domain, Some(r.scope_account.as_str())).map_err(|e| error!(r.row, 2, e.message)).ok();
        let department = r.scope_department.trim();
        if !department.is_empty() && !r.scope_account.trim().is_empty() {
            error!(
                r.row,
                1,
                "is set together with Watch account; a rule watches a department or an account, not both".into()
            );
        }
        let traffic = match r.traffic.trim().to_ascii_lowercase().as_str() {
            "" => Some(MonitorTraffic::Any),
            t => MonitorTraffic::parse(t).or_else(|| {
                error!(
                    r.row,
                    3,
                    format!("'{}' is not a kind of traffic; use any, internal or external", r.traffic.trim())
                );
                None
            }),
        };
        let mut conditions = [None, None, None, None];
        for (i, (column, field, input)) in [
            (4, "sender", &r.sender),
            (5, "recipient", &r.recipient),
            (8, "except_sender", &r.except_sender),
            (9, "except_recipient", &r.except_recipient),
        ]
        .into_iter()
        .enumerate()
        {
            conditions[i] = condition(field, Some(input.as_str())).map_err(|e| error!(r.row, column, e.message)).ok();
        }
        let min_size_kb = match r.min_size_kb.trim() {
            "" => Some(None),
            t => match t.parse::<u32>() {
                Ok(kb) => min_size(kb).map(Some).map_err(|e| error!(r.row, 6, e.message)).ok(),
                Err(_) => {
                    error!(r.row, 6, format!("'{t}' is not a whole number of KB (1 to {MAX_MIN_SIZE_KB})"));
                    None
                }
            },
        };
        let keyword_ =
            keyword("keyword", Some(r.keyword.as_str())).map_err(|e| error!(r.row, 7, strip(e, "keyword"))).ok();
        let except_keyword = keyword("except_keyword", Some(r.except_keyword.as_str()))
            .map_err(|e| error!(r.row, 10, strip(e, "except_keyword")))
            .ok();
        let action = match r.action.trim().to_ascii_lowercase().as_str() {
            "" => Some(MonitorAction::Copy),
            a => MonitorAction::parse(a).or_else(|| {
                error!(r.row, 11, format!("'{}' is not an action; use copy or folder", r.action.trim()));
                None
            }),
        };
        let target = match action {
            None => None,
            Some(_) if r.target.trim().is_empty() => {
                error!(r.row, 12, "is empty; give the monitor mailbox (copy) or the folder's name (folder)".into());
                None
            }
            Some(MonitorAction::Folder) => folder_target(&r.target).map_err(|e| error!(r.row, 12, e.message)).ok(),
            Some(MonitorAction::Copy) => match copy_target(b, &r.target).await {
                Ok(t) => Some(t),
                Err(e) if e.code == postdesk_contract::ErrorCode::PermissionDenied => {
                    return Err(Error::permission_denied(format!("row {}, {}: {}", r.row, col(12), e.message)));
                }
                Err(e) => {
                    error!(r.row, 12, e.message);
                    None
                }
            },
        };
        let [sender, recipient, except_sender, except_recipient] = conditions;
        let account = scope_account.clone().flatten();
        let department = (!department.is_empty()).then(|| department.to_string());
        let rule = if let (
            Some(name),
            Some(scope_account),
            Some(traffic),
            Some(sender),
            Some(recipient),
            Some(min_size_kb),
            Some(keyword),
            Some(except_sender),
            Some(except_recipient),
            Some(except_keyword),
            Some(action),
            Some(target),
        ) = (
            name,
            scope_account,
            traffic,
            sender,
            recipient,
            min_size_kb,
            keyword_,
            except_sender,
            except_recipient,
            except_keyword,
            action,
            target,
        ) {
            Some(MonitorRule {
                id: 0,
                domain: domain.clone(),
                name,
                scope_department: None,
                scope_account,
                traffic,
                sender,
                recipient,
                min_size_kb,
                keyword,
                except_sender,
                except_recipient,
                except_keyword,
                action,
                target,
            })
        } else {
            None
        };
        checked.push(Checked { row: r.row, rule, account, department });
    }
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    let tree = super::departments::Tree::load(&mut tx, did, &domain).await?;
    let mut ready: Vec<(u32, MonitorRule)> = Vec::with_capacity(checked.len());
    // Then, for every row, whether its account and department exist.
    for Checked { row, rule, account, department } in checked {
        let mut ok = true;
        if let Some(a) = &account
            && let Err(e) = account_exists(&mut tx, &domain, a).await
        {
            error!(row, 2, e.message);
            ok = false;
        }
        let mut path = None;
        if let Some(d) = department {
            match tree.resolve(&d) {
                Ok(id) => path = Some(tree.path(id)),
                Err(e) => {
                    error!(row, 1, e.message);
                    ok = false;
                }
            }
        }
        if let (true, Some(mut rule)) = (ok, rule)
            && (path.is_none() || account.is_none())
        {
            rule.scope_department = path;
            ready.push((row, rule));
        }
    }
    let existing = sql::monitor::page(&mut tx, did, 0, MAX_MONITOR_RULES + 1).await?;
    let mut seen: std::collections::HashMap<String, String> =
        existing.iter().map(|r| (same_key(r), format!("the rule {} ({})", r.id, r.name))).collect();
    for (row, rule) in &ready {
        match seen.get(&same_key(rule)) {
            Some(other) => error!(*row, 12, format!("{other} already does the same for the same mail")),
            None => {
                seen.insert(same_key(rule), format!("row {row}"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal_in(errors, &xlsx::MONITOR_COLUMNS));
    }
    import::check_rule_room(&domain, "monitoring rules", MAX_MONITOR_RULES, existing.len(), ready.len())?;
    let at = super::now();
    let mut added = Vec::with_capacity(ready.len());
    for (_, mut rule) in ready {
        rule.id = sql::monitor::insert(&mut tx, did, &rule, &at).await?;
        added.push(rule);
    }
    let outcome =
        import::audit_rule_import(&mut tx, &b.caller.name, ImportMonitorRules::NAME, &domain, &file_name, &added)
            .await?;
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn export(b: &EngineBackend, p: ExportMonitorRules) -> Result<ExportedFile> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Policy, Some(&domain))?;
    let rules = {
        let mut conn = b.engine.read().await?;
        let did = domain_id(&mut conn, &domain).await?;
        sql::monitor::page(&mut conn, did, 0, MAX_MONITOR_RULES + 1).await?
    };
    let (name, n) = (import::export_name("monitor-rules", &domain), rules.len() as u32);
    import::exported(name, n, move || xlsx::write_monitor_rules(&rules)).await
}

pub(crate) async fn template(b: &EngineBackend, _: MonitorRulesTemplate) -> Result<ExportedFile> {
    b.caller.require_page(Page::Policy)?;
    import::exported("postdesk-monitor-rules-template.xlsx".into(), 0, xlsx::monitor_rules_template).await
}

impl Engine {
    /// Every monitoring and copy rule (for the mail services; no caller).
    pub async fn monitor_rules(&self) -> Result<Vec<MonitorRule>> {
        sql::monitor::all(&mut *self.read().await?).await
    }
}
