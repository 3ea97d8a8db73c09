//! Monitoring and copy rules (seed 004), their admin operations: page `policy` on the
//! rule's domain (and, for a copy, on the monitor mailbox's domain); every change audited in
//! its transaction. The mail path reads every rule through [`Engine::monitor_rules`] and
//! matches them with the contract's pure [`MonitorRule::fires`].

use postdesk_contract::monitor::{MAX_KEYWORD, MAX_MONITOR_RULES, MonitorAction, MonitorRule};
use postdesk_contract::rules::condition;

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, id_cursor, page_limit, page_of};
use crate::sql;
use crate::{Engine, EngineBackend, Operation, domain_id, validate};

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
    if let Some(kb) = p.min_size_kb
        && (kb == 0 || kb > MAX_MIN_SIZE_KB)
    {
        return Err(
            Error::validation(format!("the size condition is 1 to {MAX_MIN_SIZE_KB} KB")).with_field("min_size_kb")
        );
    }
    let action = p.action.unwrap_or_default();
    let target = match action {
        MonitorAction::Copy => {
            let to = validate::address(&p.target).map_err(|e| {
                Error { message: format!("{} ('{}')", e.message, p.target.trim()), ..e }.with_field("target")
            })?;
            if !b.engine.is_local_domain(&to.domain).await? {
                return Err(Error::validation(format!(
                    "the monitor mailbox must be one of ours; {} is elsewhere",
                    to.full()
                ))
                .with_field("target"));
            }
            b.caller.require(Page::Policy, Some(&to.domain))?;
            if let Err(e) = b.engine.resolve_recipient(&to.full()).await {
                return Err(
                    Error { message: format!("the copy cannot be delivered: {}", e.message), ..e }.with_field("target")
                );
            }
            to.full()
        }
        MonitorAction::Folder => {
            let f = p.target.trim();
            if f.is_empty() || f.len() > 255 || f.chars().any(char::is_control) || f.eq_ignore_ascii_case("INBOX") {
                return Err(Error::validation(format!(
                    "'{f}' is not a folder to file into (1–255 characters, not INBOX)"
                ))
                .with_field("target"));
            }
            f.to_string()
        }
    };
    let scope_account = match p.scope_account.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(a) => {
            let a = validate::address(a).map_err(|e| e.with_field("scope_account"))?;
            if !a.domain.eq_ignore_ascii_case(&domain) {
                return Err(Error::validation(format!("{} is not an account of {domain}", a.full()))
                    .with_field("scope_account"));
            }
            Some(a.full())
        }
    };
    let mut tx = b.engine.write().await?;
    let did = domain_id(&mut tx, &domain).await?;
    if let Some(a) = &scope_account
        && sql::settings::account_id(&mut tx, a).await?.is_none()
    {
        return Err(Error::validation(format!("{a} is not an account of {domain}")).with_field("scope_account"));
    }
    let scope_department = match p.scope_department.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(path) => {
            if scope_account.is_some() {
                return Err(Error::validation("a rule watches a department or an account, not both")
                    .with_field("scope_department"));
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

impl Engine {
    /// Every monitoring and copy rule (for the mail services; no caller).
    pub async fn monitor_rules(&self) -> Result<Vec<MonitorRule>> {
        sql::monitor::all(&mut *self.read().await?).await
    }
}
