//! Mail rules on the path, their admin operations: automatic BCC (`bcc_rules`). Page
//! `policy` on the rule's domain (a sub-admin manages only its domains' rules, and copies
//! only into mailboxes of domains it manages); every change audited in its transaction.
//! The mail services read every rule through [`Engine::bcc_rules`] and match them with the
//! contract's pure [`BccRule::fires`].

use postdesk_contract::rules::{BccRule, MAX_BCC_RULES, condition};

use crate::api::*;
use crate::audit::{self, Change};
use crate::error::{Error, Result};
use crate::model::{CursorPage, Page, id_cursor, page_limit, page_of};
use crate::sql;
use crate::{Engine, EngineBackend, Operation, domain_id, validate};

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
    if sql::rules::count_bcc(&mut tx, did).await? >= MAX_BCC_RULES {
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
    let target = format!("bcc rule {}", rule.id);
    let change = Change { action: AddBccRule::NAME, domain: Some(&domain), target: &target };
    audit::record::<(), _>(&mut tx, &b.caller.name, change, None, Some(&rule)).await?;
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

impl Engine {
    /// Every automatic-BCC rule (for the mail services; no caller).
    pub async fn bcc_rules(&self) -> Result<Vec<BccRule>> {
        sql::rules::all_bcc(&mut *self.read().await?).await
    }
}
