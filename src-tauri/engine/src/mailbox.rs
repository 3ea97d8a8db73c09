//! Per-domain mailbox settings (lockout threshold, recycle-bin retention, client host,
//! catch-all collection, pickup rules), "enter mailbox", folder listings and cleaning.
//!
//! All of it is the Accounts page: a sub-admin needs that page on the domain (and on a
//! rule's or catch-all's target domain) to see or change it.

use std::collections::HashMap;

use super::EngineBackend;
use super::accounts::{self, authorised};
use super::audit::{self, Change};
use super::settings;
use super::store::{self, STANDARD_FOLDERS};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::*;
use crate::pickup::Pattern;
use crate::sql::mailbox::SettingsChanges;
use crate::sql::{self, Conn};
use crate::validate;

/// Said when no mail server runs in this backend's process.
pub const NOT_RUNNING: &str = "the mail server is not running in this backend's process, so no mail client can \
    connect now: start `postdesk serve` (or the desktop app's local mode) on this data folder, and ask that \
    server (`postdesk --remote URL …`)";

/// The client services that run now, on the domain's client host (`mail_host`, else the
/// SMTP host name in force); `None` when no mail server runs in this process.
pub(crate) fn running_endpoints(engine: &crate::Engine, mail_host: Option<&str>) -> Option<Vec<ClientEndpoint>> {
    let services = engine.mail_monitor()?.client_services();
    let host = mail_host.filter(|h| !h.is_empty()).unwrap_or(&services.hostname).to_string();
    let mut listeners = services.listeners;
    listeners.sort();
    Some(listeners.into_iter().map(|(service, port)| service.endpoint(&host, port)).collect())
}

/// The autoconfiguration answer for `address` (no caller: see `ClientSetupSource`).
pub(crate) async fn client_setup(engine: &crate::Engine, address: &str) -> Result<Option<ClientSetup>> {
    let addr = validate::address(address)?;
    let mut conn = engine.read().await?;
    let Some(row) = sql::mailbox::settings(&mut conn, &addr.domain).await? else {
        return Ok(None);
    };
    drop(conn);
    Ok(Some(ClientSetup {
        address: addr.full(),
        domain_display: idna::domain_to_unicode(&addr.domain).0,
        domain: addr.domain,
        endpoints: running_endpoints(engine, row.mail_host.as_deref()).unwrap_or_default(),
    }))
}

/// Bytes of a message read for its listing: the header, not the attachments.
const HEADER_BYTES: u64 = 64 * 1024;

/// Most pickup rules a domain may have.
const MAX_RULES: usize = 200;

/// The domain's id and its settings.
pub(crate) async fn load_settings(conn: &mut Conn, domain: &str) -> Result<(i64, MailboxSettings)> {
    let row = sql::mailbox::settings(&mut *conn, domain)
        .await?
        .ok_or_else(|| Error::not_found(format!("domain {domain} does not exist")).with_field("domain"))?;
    let did = row.id;
    let pickup_rules = sql::mailbox::pickup_rules(conn, did)
        .await?
        .into_iter()
        .map(|(pattern, target)| PickupRule { pattern, target })
        .collect();
    let settings = MailboxSettings {
        domain: domain.to_string(),
        lockout_threshold: row.lockout_threshold as u32,
        retention_days: row.retention_days as u32,
        mail_host: row.mail_host.unwrap_or_else(|| format!("mail.{domain}")),
        catch_all: row.catch_all_enabled,
        catch_all_target: row.target,
        pickup_rules,
    };
    Ok((did, settings))
}

/// An account that mail can be routed to, in the caller's scope: its id and address.
async fn target_account(b: &EngineBackend, conn: &mut Conn, raw: &str, field: &str) -> Result<(i64, String)> {
    let addr = validate::address(raw).map_err(|e| e.with_field(field))?;
    b.caller.require(Page::Accounts, Some(&addr.domain))?;
    let address = addr.full();
    let row = sql::accounts::id_and_status(conn, &address).await?;
    match row {
        None => {
            Err(Error::not_found(format!("{address} is not an account (mail can only go to a mailbox)"))
                .with_field(field))
        }
        Some((_, status)) if status == AccountStatus::Deleted.as_str() => {
            Err(Error::conflict(format!("{address} is in the recycle bin")).with_field(field))
        }
        Some((id, _)) => Ok((id, address)),
    }
}

pub(crate) async fn get_settings(b: &EngineBackend, p: GetMailboxSettings) -> Result<MailboxSettings> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    Ok(load_settings(&mut *b.engine.read().await?, &domain).await?.1)
}

pub(crate) async fn update_settings(b: &EngineBackend, p: UpdateMailboxSettings) -> Result<MailboxSettings> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    if let Some(n) = p.lockout_threshold
        && !(1..=postdesk_contract::settings::MAX_LOCKOUT_THRESHOLD).contains(&n)
    {
        return Err(Error::validation(format!(
            "the lockout threshold is 1 to {} failed logins",
            postdesk_contract::settings::MAX_LOCKOUT_THRESHOLD
        ))
        .with_field("lockout_threshold"));
    }
    if let Some(n) = p.retention_days
        && !(1..=3650).contains(&n)
    {
        return Err(Error::validation("the recycle bin keeps accounts 1 to 3650 days").with_field("retention_days"));
    }
    let mail_host = match p.mail_host.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(h) => Some(Some(validate::domain(h).map_err(|e| e.with_field("mail_host"))?)),
    };
    let mut tx = b.engine.write().await?;
    let (did, before) = load_settings(&mut tx, &domain).await?;
    let target = match p.catch_all_target.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(raw) => Some(Some(target_account(b, &mut tx, raw, "catch_all_target").await?)),
    };
    let enabled = p.catch_all.unwrap_or(before.catch_all);
    let has_target = match &target {
        Some(t) => t.is_some(),
        None => before.catch_all_target.is_some(),
    };
    if enabled && !has_target {
        return Err(
            Error::validation("catch-all collection needs the mailbox that collects").with_field("catch_all_target")
        );
    }
    let changes = SettingsChanges {
        retention_days: p.retention_days,
        mail_host,
        catch_all_enabled: enabled,
        catch_all_account: target.map(|t| t.map(|(id, _)| id)),
    };
    sql::mailbox::update_settings(&mut tx, did, changes).await?;
    if let Some(n) = p.lockout_threshold {
        settings::set_lockout_threshold(&mut tx, did, n).await?;
    }
    let (_, after) = load_settings(&mut tx, &domain).await?;
    let change = Change { action: UpdateMailboxSettings::NAME, domain: Some(&domain), target: &domain };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn set_pickup_rules(b: &EngineBackend, p: SetPickupRules) -> Result<MailboxSettings> {
    let domain = validate::domain(&p.domain)?;
    b.caller.require(Page::Accounts, Some(&domain))?;
    if p.rules.len() > MAX_RULES {
        return Err(Error::validation(format!("a domain has at most {MAX_RULES} pickup rules")).with_field("rules"));
    }
    let at_rule = |i: usize, e: Error| Error { message: format!("rule {}: {}", i + 1, e.message), ..e };
    let mut patterns: Vec<Pattern> = Vec::with_capacity(p.rules.len());
    for (i, rule) in p.rules.iter().enumerate() {
        let pattern = Pattern::parse(&rule.pattern).map_err(|e| at_rule(i, e))?;
        if let Some(j) = patterns.iter().position(|q| q == &pattern) {
            return Err(at_rule(
                i,
                Error::conflict(format!("repeats the pattern of rule {} and would never match", j + 1))
                    .with_field("pattern"),
            ));
        }
        patterns.push(pattern);
    }
    let mut tx = b.engine.write().await?;
    let (did, before) = load_settings(&mut tx, &domain).await?;
    let mut targets = Vec::with_capacity(p.rules.len());
    for (i, rule) in p.rules.iter().enumerate() {
        targets.push(target_account(b, &mut tx, &rule.target, "target").await.map_err(|e| at_rule(i, e))?.0);
    }
    let rules: Vec<(&str, i64)> = patterns.iter().map(Pattern::as_str).zip(targets).collect();
    sql::mailbox::set_pickup_rules(&mut tx, did, &rules).await?;
    let (_, after) = load_settings(&mut tx, &domain).await?;
    let change = Change { action: SetPickupRules::NAME, domain: Some(&domain), target: &domain };
    audit::record(&mut tx, &b.caller.name, change, Some(&before.pickup_rules), Some(&after.pickup_rules)).await?;
    tx.commit().await?;
    Ok(after)
}

/// What the admin should know about logging in to this mailbox, in plain words.
fn login_note(status: AccountStatus, has_password: bool, force: bool, failed: u32, threshold: u32) -> Option<String> {
    Some(match status {
        AccountStatus::Deleted => "in the recycle bin: no logins, no mail".into(),
        AccountStatus::Disabled => "disabled by an admin: mail clients are refused".into(),
        AccountStatus::Locked => {
            format!("locked ({failed} failed logins in a row): set a new password to unlock it")
        }
        AccountStatus::Active if !has_password => "no password is set yet, so every login fails with \
            'authentication failed': set a password first"
            .into(),
        AccountStatus::Active if force => "the user must change the password at the next logon".into(),
        AccountStatus::Active if failed > 0 => {
            format!(
                "{failed} failed logins in a row; a client address that fails {threshold} times is kept out \
                 for 15 minutes (others still log in)"
            )
        }
        AccountStatus::Active => return None,
    })
}

pub(crate) async fn view(b: &EngineBackend, p: GetMailbox) -> Result<MailboxView> {
    let addr = authorised(b, &p.address)?;
    let mut conn = b.engine.read().await?;
    let (id, _, account) = accounts::load(&mut conn, &addr).await?;
    let (failed, threshold, host) = sql::mailbox::login_state(&mut conn, id).await?;
    let rows = sql::mailbox::folders(&mut conn, id).await?;
    let mut found: HashMap<String, FolderSummary> = rows
        .into_iter()
        .map(|r| {
            let summary = FolderSummary {
                name: r.name.clone(),
                messages: r.messages as u32,
                unseen: r.unseen as u32,
                size_bytes: r.size as u64,
            };
            (r.name, summary)
        })
        .collect();
    // The standard folders first (as they will be once used), then the others by name.
    let mut folders: Vec<FolderSummary> = STANDARD_FOLDERS
        .iter()
        .map(|name| {
            found.remove(*name).unwrap_or(FolderSummary {
                name: name.to_string(),
                messages: 0,
                unseen: 0,
                size_bytes: 0,
            })
        })
        .collect();
    let mut rest: Vec<FolderSummary> = found.into_values().collect();
    rest.sort_by(|a, b| a.name.cmp(&b.name));
    folders.extend(rest);
    let running = running_endpoints(&b.engine, host.as_deref());
    let mail_server_running = running.is_some();
    let mut client = running.unwrap_or_default();
    let mut client_note = (!mail_server_running).then(|| NOT_RUNNING.to_string());
    if mail_server_running {
        let values = settings::effective(&mut conn, id).await?.values;
        let mut off = Vec::new();
        for e in &mut client {
            let (allowed, key) = match e.protocol.as_str() {
                "imap" => (values.imap.value, "imap"),
                "pop3" => (values.pop3.value, "pop3"),
                _ => (values.smtp.value, "smtp"),
            };
            if !allowed {
                e.allowed = false;
                e.note = Some(format!("{} is switched off for this account (setting '{key}')", key.to_uppercase()));
                if !off.contains(&key) {
                    off.push(key);
                }
            }
        }
        if client.is_empty() {
            client_note = Some(
                "the mail server runs, but none of its client services (IMAP, POP3, SMTP \
                submission) does"
                    .into(),
            );
        } else if !off.is_empty() {
            let names: Vec<String> = off.iter().map(|k| k.to_uppercase()).collect();
            client_note = Some(format!(
                "{} switched off for this account: its logins there are refused",
                names.join(" and ") + if off.len() == 1 { " is" } else { " are" }
            ));
        }
    }
    let (failed, threshold) = (failed as u32, threshold as u32);
    Ok(MailboxView {
        can_log_in: account.status == AccountStatus::Active && account.has_password,
        login_note: login_note(account.status, account.has_password, account.force_password_change, failed, threshold),
        failed_logins: failed,
        lockout_threshold: threshold,
        quota_mb: account.quota_mb,
        used_bytes: folders.iter().map(|f| f.size_bytes).sum(),
        messages: folders.iter().map(|f| f.messages).sum(),
        folders,
        client,
        mail_server_running,
        client_note,
        address: account.address,
        status: account.status,
    })
}

/// The first bytes of a message, enough for its header (blocking).
fn header_summary(bytes: &[u8]) -> (String, String, Option<String>) {
    let Some(message) = mail_parser::MessageParser::default().parse_headers(bytes) else {
        return (String::new(), String::new(), None);
    };
    let from = message
        .from()
        .and_then(|a| a.first())
        .map(|a| match (a.name(), a.address()) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (None, Some(address)) => address.to_string(),
            (Some(name), None) => name.to_string(),
            (None, None) => String::new(),
        })
        .unwrap_or_default();
    let subject = message.subject().unwrap_or_default().to_string();
    (from, subject, message.date().map(|d| d.to_rfc3339()))
}

pub(crate) async fn list_messages(b: &EngineBackend, p: ListMessages) -> Result<Listing<MessageSummary>> {
    let addr = authorised(b, &p.address)?;
    let folder = p.folder.as_deref().map(str::trim).filter(|f| !f.is_empty()).unwrap_or("INBOX").to_string();
    let offset = p.offset.unwrap_or(0);
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::validation("page size must be between 1 and 500").with_field("limit"));
    }
    let mut conn = b.engine.read().await?;
    let (account_id, _, _) = accounts::load(&mut conn, &addr).await?;
    let folder_id = sql::store::folder_id(&mut conn, account_id, &folder).await?;
    let Some(folder_id) = folder_id else {
        if STANDARD_FOLDERS.contains(&folder.as_str()) {
            return Ok(Listing { items: Vec::new(), total: 0, offset, total_capped: false });
        }
        return Err(Error::not_found(format!("{} has no folder {folder}", addr.full())).with_field("folder"));
    };
    let total = sql::mailbox::message_count(&mut conn, folder_id).await?;
    let rows = sql::mailbox::messages(&mut conn, folder_id, limit, offset).await?;
    drop(conn);
    // Headers read a few at a time (an object store answers each in a round trip).
    use futures::StreamExt;
    let store = &b.engine.blobs;
    let items: Vec<MessageSummary> = futures::stream::iter(rows)
        .map(|(uid, hash, size, received_at, flags)| async move {
            let (from, subject, date) = match store.read_head(&hash, HEADER_BYTES).await {
                Ok(bytes) => header_summary(&bytes),
                Err(_) => (String::new(), "(message file missing)".into(), None),
            };
            MessageSummary {
                uid: uid as u32,
                from,
                subject,
                date,
                size: size as u32,
                received_at,
                flags: flags.split_whitespace().map(String::from).collect(),
            }
        })
        .buffered(8)
        .collect()
        .await;
    Ok(Listing { items, total: total as u32, offset, total_capped: false })
}

pub(crate) async fn clean(b: &EngineBackend, p: CleanMailbox) -> Result<CleanedMailbox> {
    let addr = authorised(b, &p.address)?;
    if !p.confirm {
        return Err(Error::validation(format!(
            "cleaning deletes every message of {} and cannot be undone; confirm it",
            addr.full()
        ))
        .with_field("confirm"));
    }
    let mut tx = b.engine.write().await?;
    let (id, _, account) = accounts::load(&mut tx, &addr).await?;
    if account.status == AccountStatus::Deleted {
        return Err(Error::conflict(format!("{} is in the recycle bin; restore it first", account.address)));
    }
    let (messages, size_bytes, hashes) = store::delete_messages(&mut tx, id).await?;
    let cleaned = CleanedMailbox { messages, size_bytes };
    let change = Change { action: CleanMailbox::NAME, domain: Some(&addr.domain), target: &account.address };
    audit::record(
        &mut tx,
        &b.caller.name,
        change,
        Some(&cleaned),
        Some(&CleanedMailbox { messages: 0, size_bytes: 0 }),
    )
    .await?;
    tx.commit().await?;
    b.engine.collect_blobs(hashes).await?;
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_notes_say_what_blocks_a_client() {
        assert!(login_note(AccountStatus::Active, false, false, 0, 5).unwrap().contains("no password"));
        assert!(login_note(AccountStatus::Locked, true, false, 5, 5).unwrap().contains("set a new password"));
        assert!(login_note(AccountStatus::Active, true, false, 2, 5).unwrap().contains("fails 5 times"));
        assert_eq!(login_note(AccountStatus::Active, true, false, 0, 5), None);
    }
}
