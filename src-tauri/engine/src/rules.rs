//! Mail rules on the path, their admin operations: automatic BCC (`bcc_rules`). Page
//! `policy` on the rule's domain (a sub-admin manages only its domains' rules, and copies
//! only into mailboxes of domains it manages); every change audited in its transaction.
//! The mail services read every rule through [`Engine::bcc_rules`] and match them with the
//! contract's pure [`BccRule::fires`].

use postdesk_contract::rules::{BccRule, MAX_BCC_RULES, OutboundUsage, condition, quota_state};

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
/// fire, then the acting account's daily send quota when it sends to another domain.
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
    let Some(account) = envelope.authenticated_user.as_deref() else { return Ok(out) };
    let mut outside = false;
    for r in &envelope.recipients {
        outside |= !engine.is_local_domain(r.rsplit_once('@').map_or("", |(_, d)| d)).await?;
    }
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
