//! The SMTP service's admin side: server-wide settings (one row), the
//! black/white list rules (ordered, first match decides), their XLSX import/export, and
//! the hooks the mail server uses.
//!
//! Invariants:
//! * settings and rules are server-wide: every operation needs the `smtp` page and a
//!   caller covering all domains (a domain-limited sub-admin gets 403, also for reading);
//!   helpdesk reads, owners and all-domain admins change;
//! * every change is one `BEGIN IMMEDIATE` transaction with its audit entry, and bumps the
//!   stored `smtp_settings.version`; after the commit the version is sent on the engine's
//!   watch channel ([`Engine::subscribe_smtp_config`]), so the running mail server reloads.
//!   A refusal changes nothing, audits nothing and notifies nobody;
//! * rule positions are dense, 1..=n; values are stored canonical (lower-case address,
//!   A-label domain, IP or network address with prefix), so duplicates are caught.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use tokio::sync::watch;

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{Engine, EngineBackend, now};
use crate::api::*;
use crate::error::{Error, Result, RowError};
use crate::model::{CursorPage, ExportedFile, Page, id_cursor, page_limit, page_of, pair_cursor};
use crate::{validate, xlsx};
use postdesk_contract::smtp::*;

/// The engine's link to the mail server, shared by every clone of the engine.
pub(crate) struct Hooks {
    monitor: RwLock<Option<Arc<dyn MailServiceMonitor>>>,
    pub(crate) changes: watch::Sender<u64>,
    portal_url: RwLock<Option<String>>,
}

impl Hooks {
    pub(crate) fn new(version: u64) -> Hooks {
        Hooks { monitor: RwLock::new(None), changes: watch::Sender::new(version), portal_url: RwLock::new(None) }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let monitor = self.monitor.read().map(|m| m.is_some()).unwrap_or(false);
        f.debug_struct("Hooks").field("monitor", &monitor).field("version", &*self.changes.borrow()).finish()
    }
}

impl Engine {
    /// The SMTP settings and the black/white list in order, for the mail server (no
    /// permission check: the caller is the process itself).
    pub async fn smtp_config(&self) -> Result<SmtpConfig> {
        let mut conn = self.read().await?;
        let (settings, version) = sql::smtp::load_settings(&mut conn).await?;
        let rules = sql::smtp::load_rules(&mut conn).await?;
        Ok(SmtpConfig { settings, rules, version })
    }

    /// A receiver that sees a new value (the stored version) after every committed change
    /// of the SMTP settings or rules made through this engine or any of its clones.
    /// Changes made by another process on the same data folder are not signalled; compare
    /// [`SmtpConfig::version`] to notice them.
    pub fn subscribe_smtp_config(&self) -> watch::Receiver<u64> {
        self.smtp.changes.subscribe()
    }

    /// Sets (or clears, with `None`) what `get_smtp_status` asks for the running mail
    /// server's status. Shared by every clone of this engine.
    pub fn set_mail_monitor(&self, monitor: Option<Arc<dyn MailServiceMonitor>>) {
        *self.smtp.monitor.write().unwrap_or_else(|e| e.into_inner()) = monitor;
    }

    /// Sets (or clears) where users reach the self-service portal: the mail services name it
    /// when they refuse a login until the password is changed. Shared by every clone.
    pub fn set_portal_url(&self, url: Option<String>) {
        *self.smtp.portal_url.write().unwrap_or_else(|e| e.into_inner()) = url;
    }

    /// Where users reach the self-service portal, when it is served.
    pub fn portal_url(&self) -> Option<String> {
        self.smtp.portal_url.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The running mail server's monitor, when one is registered.
    pub(crate) fn mail_monitor(&self) -> Option<Arc<dyn MailServiceMonitor>> {
        self.smtp.monitor.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The mail services of this process reload; the other nodes heard of the change from its
    /// commit (`sql::smtp::bump_version`).
    fn smtp_changed(&self, version: u64) {
        self.smtp.changes.send_replace(version);
    }
}

/// Every SMTP operation: the page, and scope over all domains (the settings are server-wide).
fn require(b: &EngineBackend) -> Result<()> {
    b.caller.require(Page::Smtp, None)
}

async fn load_rule(conn: &mut Conn, id: u32) -> Result<SmtpRule> {
    sql::smtp::load_rule(conn, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("there is no SMTP rule with id {id}")).with_field("id"))
}

// ---- Validation ---------------------------------------------------------------------------

fn range<T: PartialOrd + std::fmt::Display + Copy>(field: &str, what: &str, v: T, min: T, max: T) -> Result<()> {
    if v < min || v > max {
        return Err(Error::validation(format!("{what} must be {min} to {max}; {v} is out of range")).with_field(field));
    }
    Ok(())
}

/// Checks settings and returns them canonical (trimmed, host name lower-case ASCII).
pub(crate) fn check_settings(mut s: SmtpSettings) -> Result<SmtpSettings> {
    s.hostname = crate::validate::host_name(&s.hostname, "hostname")?;
    s.banner = s.banner.trim().to_string();
    if s.banner.len() > 200 {
        return Err(Error::validation("the banner is longer than 200 characters").with_field("banner"));
    }
    if let Some(c) = s.banner.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Error::validation(format!(
            "the banner may hold printable ASCII only (it is sent in the SMTP greeting); '{}' is not",
            c.escape_default()
        ))
        .with_field("banner"));
    }
    range(
        "max_message_bytes",
        "the message size limit (bytes)",
        s.max_message_bytes,
        MIN_MESSAGE_BYTES,
        MAX_MESSAGE_BYTES,
    )?;
    range("max_recipients", "the recipients per message", s.max_recipients, 1, MAX_RECIPIENTS)?;
    range(
        "command_timeout_secs",
        "the command timeout (seconds)",
        s.command_timeout_secs,
        MIN_TIMEOUT_SECS,
        MAX_TIMEOUT_SECS,
    )?;
    range("data_timeout_secs", "the data timeout (seconds)", s.data_timeout_secs, MIN_TIMEOUT_SECS, MAX_TIMEOUT_SECS)?;
    range("max_errors", "the bad commands tolerated", s.max_errors, 1, 1000)?;
    range("max_auth_failures", "the failed AUTH attempts tolerated", s.max_auth_failures, 1, 100)?;
    range("max_connections", "the connections at once", s.max_connections, 1, 100_000)?;
    if let Some(n) = s.connection.max_connections_per_ip {
        range("connection.max_connections_per_ip", "the connections per client address", n, 1, 10_000)?;
        if n > s.max_connections {
            return Err(Error::validation(format!(
                "the connections per client address ({n}) cannot exceed the connections at once ({})",
                s.max_connections
            ))
            .with_field("connection.max_connections_per_ip"));
        }
    }
    if let Some(r) = s.connection.messages_per_ip {
        range("connection.messages_per_ip.count", "the messages per client address", r.count, 1, 1_000_000)?;
        range("connection.messages_per_ip.window_secs", "the rate window (seconds)", r.window_secs, 1, 86_400)?;
    }
    let p = &s.probing;
    range("probing.slow_after", "the unknown recipients before the slow-down", p.slow_after, 1, 1000)?;
    range("probing.delay_step_secs", "the slow-down step (seconds)", p.delay_step_secs, 0, 60)?;
    range("probing.max_unknown", "the unknown recipients that end a session", p.max_unknown, 1, 10_000)?;
    range("probing.penalty_secs", "the penalty of a probing address (seconds)", p.penalty_secs, 0, 86_400)?;
    if p.slow_after > p.max_unknown {
        return Err(Error::validation(format!(
            "the slow-down ({} unknown recipients) must start at or before the drop ({})",
            p.slow_after, p.max_unknown
        ))
        .with_field("probing.slow_after"));
    }
    let in_flight = s.data.in_flight_bytes;
    range(
        "data.in_flight_bytes",
        "the in-flight message data budget (bytes)",
        in_flight,
        MIN_IN_FLIGHT_BYTES,
        MAX_IN_FLIGHT_BYTES,
    )?;
    if in_flight < s.max_message_bytes {
        return Err(Error::validation(format!(
            "the in-flight message data budget ({in_flight} bytes) must be at least the message size limit ({} \
             bytes): a larger message could never be held",
            s.max_message_bytes
        ))
        .with_field("data.in_flight_bytes"));
    }
    Ok(s)
}

/// A rule name: trimmed, 1–64 characters, no control characters.
fn rule_name(input: &str) -> Result<String> {
    let name = validate::text("name", input, 64)?;
    if name.is_empty() {
        return Err(Error::validation("a rule needs a name").with_field("name"));
    }
    if name.contains(['\n', '\t']) {
        return Err(Error::validation("a rule name is one line").with_field("name"));
    }
    Ok(name)
}

/// An IP address or CIDR network, canonical: `192.0.2.7`, `192.0.2.0/24`, `2001:db8::/32`.
fn ip_or_network(input: &str) -> Result<String> {
    let field = "value";
    let s = input.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim())),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| {
        Error::validation(format!("'{s}' is not an IP address or a network like 192.0.2.0/24")).with_field(field)
    })?;
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    };
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
            Error::validation(format!("'{s}' has a bad prefix length: /{p} (0 to {max} for this address)"))
                .with_field(field)
        })?,
    };
    if prefix == max {
        return Ok(addr.to_string());
    }
    let network = match addr {
        IpAddr::V4(v4) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    };
    if network != addr {
        return Err(Error::validation(format!(
            "'{s}' has host bits set after the prefix; the network is {network}/{prefix}"
        ))
        .with_field(field));
    }
    Ok(format!("{network}/{prefix}"))
}

/// A rule's value checked against its kind, canonical.
pub(crate) fn rule_value(kind: SmtpRuleKind, input: &str) -> Result<String> {
    let value = input.trim();
    if value.is_empty() {
        return Err(Error::validation("a rule needs a value to match").with_field("value"));
    }
    match kind {
        SmtpRuleKind::SenderAddress => Ok(validate::address(value).map_err(|e| e.with_field("value"))?.full()),
        SmtpRuleKind::SenderDomain => {
            validate::domain(value.trim_start_matches('@')).map_err(|e| e.with_field("value"))
        }
        SmtpRuleKind::ClientIp => ip_or_network(value),
    }
}

fn rule_note(input: &str) -> Result<String> {
    validate::text("note", input, 500)
}

/// Refuses a name or a kind+value another rule (not `except`) already has.
async fn check_unique(conn: &mut Conn, name: &str, kind: SmtpRuleKind, value: &str, except: Option<u32>) -> Result<()> {
    let taken = sql::smtp::name_taken(conn, name, except).await?;
    if let Some(other) = taken {
        return Err(Error::conflict(format!("there is already a rule named {other}")).with_field("name"));
    }
    let same = sql::smtp::same_match(conn, kind, value, except).await?;
    if let Some(other) = same {
        return Err(Error::conflict(format!(
            "the rule {other} already matches {} {value}; a second one would never be reached",
            kind.as_str()
        ))
        .with_field("value"));
    }
    Ok(())
}

// ---- Operations ---------------------------------------------------------------------------

pub(crate) async fn get_settings(b: &EngineBackend, _: GetSmtpSettings) -> Result<SmtpSettings> {
    require(b)?;
    let mut conn = b.engine.read().await?;
    Ok(sql::smtp::load_settings(&mut conn).await?.0)
}

pub(crate) async fn update_settings(b: &EngineBackend, p: UpdateSmtpSettings) -> Result<SmtpSettings> {
    require(b)?;
    let after = check_settings(p.settings)?;
    let mut tx = b.engine.write().await?;
    let (before, _) = sql::smtp::load_settings(&mut tx).await?;
    sql::smtp::store_settings(&mut tx, &after).await?;
    let version = sql::smtp::bump_version(&mut tx).await?;
    let change = Change { action: UpdateSmtpSettings::NAME, domain: None, target: "smtp settings" };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    b.engine.smtp_changed(version);
    Ok(after)
}

pub(crate) async fn list_rules(b: &EngineBackend, p: ListSmtpRules) -> Result<CursorPage<SmtpRule>> {
    require(b)?;
    let limit = page_limit(p.limit)?;
    // The cursor is `<position> <id>` of the page's last rule.
    let after = match pair_cursor(p.after.as_deref())? {
        None => None,
        Some((position, id)) => {
            Some((id_cursor(Some(&position))?.unwrap_or_default(), id_cursor(Some(&id))?.unwrap_or_default()))
        }
    };
    let mut conn = b.engine.read().await?;
    let rows = sql::smtp::rules_page(&mut conn, after, limit + 1).await?;
    Ok(page_of(rows, limit, |r| format!("{} {}", r.position, r.id)))
}

pub(crate) async fn add_rule(b: &EngineBackend, p: AddSmtpRule) -> Result<SmtpRule> {
    require(b)?;
    let name = rule_name(&p.name)?;
    let value = rule_value(p.kind, &p.value)?;
    let note = rule_note(p.note.as_deref().unwrap_or(""))?;
    if p.position == Some(0) {
        return Err(Error::validation("positions start at 1").with_field("position"));
    }
    let mut tx = b.engine.write().await?;
    let count = sql::smtp::rule_count(&mut tx).await?;
    if count as usize >= MAX_RULES {
        return Err(Error::limit_exceeded(format!("the server keeps at most {MAX_RULES} SMTP rules")));
    }
    check_unique(&mut tx, &name, p.kind, &value, None).await?;
    let position = p.position.unwrap_or(u32::MAX).min(count + 1);
    sql::smtp::shift_down_from(&mut tx, position).await?;
    let new = sql::smtp::NewRule {
        name: &name,
        kind: p.kind,
        value: &value,
        action: p.action,
        position,
        note: &note,
        created_at: &now(),
    };
    let id = sql::smtp::insert_rule(&mut tx, new).await?;
    let rule = load_rule(&mut tx, id as u32).await?;
    let version = sql::smtp::bump_version(&mut tx).await?;
    let change = Change { action: AddSmtpRule::NAME, domain: None, target: &rule.name };
    audit::record(&mut tx, &b.caller.name, change, None::<&()>, Some(&rule)).await?;
    tx.commit().await?;
    b.engine.smtp_changed(version);
    Ok(rule)
}

pub(crate) async fn update_rule(b: &EngineBackend, p: UpdateSmtpRule) -> Result<SmtpRule> {
    require(b)?;
    let name = p.name.as_deref().map(rule_name).transpose()?;
    let note = p.note.as_deref().map(rule_note).transpose()?;
    let mut tx = b.engine.write().await?;
    let before = load_rule(&mut tx, p.id).await?;
    let kind = p.kind.unwrap_or(before.kind);
    let value = match (&p.value, p.kind) {
        (Some(v), _) => rule_value(kind, v)?,
        // A new kind with the old value: the value must suit the kind.
        (None, Some(_)) => rule_value(kind, &before.value)?,
        (None, None) => before.value.clone(),
    };
    let name = name.unwrap_or_else(|| before.name.clone());
    check_unique(&mut tx, &name, kind, &value, Some(p.id)).await?;
    let action = p.action.unwrap_or(before.action);
    let note = note.unwrap_or_else(|| before.note.clone());
    sql::smtp::update_rule(&mut tx, p.id, &name, kind, &value, action, &note).await?;
    let after = load_rule(&mut tx, p.id).await?;
    let version = sql::smtp::bump_version(&mut tx).await?;
    let change = Change { action: UpdateSmtpRule::NAME, domain: None, target: &after.name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    b.engine.smtp_changed(version);
    Ok(after)
}

pub(crate) async fn remove_rule(b: &EngineBackend, p: RemoveSmtpRule) -> Result<()> {
    require(b)?;
    let mut tx = b.engine.write().await?;
    let before = load_rule(&mut tx, p.id).await?;
    sql::smtp::delete_rule(&mut tx, p.id, before.position).await?;
    let version = sql::smtp::bump_version(&mut tx).await?;
    let change = Change { action: RemoveSmtpRule::NAME, domain: None, target: &before.name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), None::<&()>).await?;
    tx.commit().await?;
    b.engine.smtp_changed(version);
    Ok(())
}

pub(crate) async fn move_rule(b: &EngineBackend, p: MoveSmtpRule) -> Result<Vec<SmtpRule>> {
    require(b)?;
    if p.position == 0 {
        return Err(Error::validation("positions start at 1").with_field("position"));
    }
    let mut tx = b.engine.write().await?;
    let before = load_rule(&mut tx, p.id).await?;
    let count = sql::smtp::rule_count(&mut tx).await?;
    let to = p.position.min(count);
    let from = before.position;
    sql::smtp::move_rule(&mut tx, p.id, from, to).await?;
    let rules = sql::smtp::load_rules(&mut tx).await?;
    let version = sql::smtp::bump_version(&mut tx).await?;
    let after = rules.iter().find(|r| r.id == p.id).cloned();
    let change = Change { action: MoveSmtpRule::NAME, domain: None, target: &before.name };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), after.as_ref()).await?;
    tx.commit().await?;
    b.engine.smtp_changed(version);
    Ok(rules)
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One rule of an import file, checked.
struct NewRule {
    name: String,
    kind: SmtpRuleKind,
    value: String,
    action: SmtpRuleAction,
    note: String,
}

/// Checks every row of an import file against each other and (`existing`) the rules that
/// stay; all problems, by row and column.
fn check_import_rows(rows: Vec<xlsx::RuleRow>, existing: &[SmtpRule]) -> Result<Vec<NewRule>> {
    let col = |i: usize| xlsx::RULE_COLUMNS[i].to_string();
    let mut errors: Vec<RowError> = Vec::new();
    let mut names: HashMap<String, String> =
        existing.iter().map(|r| (r.name.to_ascii_lowercase(), r.name.clone())).collect();
    let mut values: HashMap<(SmtpRuleKind, String), String> =
        existing.iter().map(|r| ((r.kind, r.value.clone()), r.name.clone())).collect();
    let mut checked = Vec::with_capacity(rows.len());
    let mut error =
        |row: u32, column: usize, message: String| errors.push(RowError { row, column: col(column), message });
    let strip = |e: Error, field: &str| e.message.trim_start_matches(field).trim_start().to_string();
    for r in rows {
        let name = match rule_name(&r.name) {
            Err(e) => {
                error(r.row, 0, strip(e, "name"));
                None
            }
            Ok(n) => match names.get(&n.to_ascii_lowercase()) {
                Some(other) => {
                    error(r.row, 0, format!("the name {other} is already taken (names are unique)"));
                    None
                }
                None => {
                    names.insert(n.to_ascii_lowercase(), format!("{n} (row {})", r.row));
                    Some(n)
                }
            },
        };
        let kind = match SmtpRuleKind::parse(&r.kind) {
            Some(k) => Some(k),
            None => {
                let shown = if r.kind.trim().is_empty() {
                    "is empty".to_string()
                } else {
                    format!("'{}' is not a kind", r.kind.trim())
                };
                error(r.row, 1, format!("{shown}; use sender_address, sender_domain or client_ip"));
                None
            }
        };
        let value = match kind {
            None => None,
            Some(k) => match rule_value(k, &r.value) {
                Err(e) => {
                    error(r.row, 2, e.message);
                    None
                }
                Ok(v) => match values.get(&(k, v.clone())) {
                    Some(other) => {
                        error(
                            r.row,
                            2,
                            format!("{other} already matches {} {v}; this rule would never be reached", k.as_str()),
                        );
                        None
                    }
                    None => {
                        values.insert((k, v.clone()), format!("row {}", r.row));
                        Some(v)
                    }
                },
            },
        };
        let action = match SmtpRuleAction::parse(&r.action) {
            Some(a) => Some(a),
            None => {
                let shown = if r.action.trim().is_empty() {
                    "is empty".to_string()
                } else {
                    format!("'{}' is not an action", r.action.trim())
                };
                error(r.row, 3, format!("{shown}; use reject, discard or allow"));
                None
            }
        };
        let note = match rule_note(&r.note) {
            Err(e) => {
                error(r.row, 4, strip(e, "note"));
                None
            }
            Ok(n) => Some(n),
        };
        if let (Some(name), Some(kind), Some(value), Some(action), Some(note)) = (name, kind, value, action, note) {
            checked.push(NewRule { name, kind, value, action, note });
        }
    }
    if !errors.is_empty() {
        return Err(xlsx::refusal_in(errors, &xlsx::RULE_COLUMNS));
    }
    Ok(checked)
}

pub(crate) async fn import_rules(b: &EngineBackend, p: ImportSmtpRules) -> Result<SmtpRulesImported> {
    require(b)?;
    let file_name = validate::text("file_name", &p.file_name, 255)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p.content_base64.trim())
        .map_err(|e| Error::validation(format!("the file is not valid base64: {e}")).with_field("content_base64"))?;
    let rows = tokio::task::spawn_blocking(move || xlsx::read_rules(&bytes))
        .await
        .map_err(|e| Error::internal(format!("reading the file failed: {e}")))??;
    let mode = p.mode.unwrap_or_default();
    let mut tx = b.engine.write().await?;
    let existing = sql::smtp::load_rules(&mut tx).await?;
    let keep: &[SmtpRule] = match mode {
        SmtpImportMode::Append => &existing,
        SmtpImportMode::Replace => &[],
    };
    let new = check_import_rows(rows, keep)?;
    if keep.len() + new.len() > MAX_RULES {
        return Err(Error::limit_exceeded(format!(
            "the server keeps at most {MAX_RULES} SMTP rules; {} and {} from the file are {}",
            keep.len(),
            new.len(),
            keep.len() + new.len()
        ))
        .with_field("file"));
    }
    let removed = match mode {
        SmtpImportMode::Append => 0,
        SmtpImportMode::Replace => sql::smtp::delete_all_rules(&mut tx).await?,
    };
    let at = now();
    let first = keep.len() as u32 + 1;
    for (i, r) in new.iter().enumerate() {
        let new = sql::smtp::NewRule {
            name: &r.name,
            kind: r.kind,
            value: &r.value,
            action: r.action,
            position: first + i as u32,
            note: &r.note,
            created_at: &at,
        };
        sql::smtp::insert_imported_rule(&mut tx, new).await?;
    }
    let after = sql::smtp::load_rules(&mut tx).await?;
    let version = sql::smtp::bump_version(&mut tx).await?;
    let outcome = SmtpRulesImported { added: new.len() as u32, removed };
    #[derive(serde::Serialize)]
    struct Imported<'a> {
        file_name: &'a str,
        mode: SmtpImportMode,
        added: u32,
        removed: u32,
        rules: &'a [SmtpRule],
    }
    let record = Imported { file_name: &file_name, mode, added: outcome.added, removed, rules: &after[keep.len()..] };
    let before = (mode == SmtpImportMode::Replace).then_some(&existing);
    let change = Change { action: ImportSmtpRules::NAME, domain: None, target: &file_name };
    audit::record(&mut tx, &b.caller.name, change, before, Some(&record)).await?;
    tx.commit().await?;
    b.engine.smtp_changed(version);
    Ok(outcome)
}

pub(crate) async fn export_rules(b: &EngineBackend, _: ExportSmtpRules) -> Result<ExportedFile> {
    require(b)?;
    let rules = {
        let mut conn = b.engine.read().await?;
        sql::smtp::load_rules(&mut conn).await?
    };
    let n = rules.len() as u32;
    let bytes = tokio::task::spawn_blocking(move || xlsx::write_rules(&rules))
        .await
        .map_err(|e| Error::internal(format!("writing the file failed: {e}")))??;
    Ok(ExportedFile { file_name: "postdesk-smtp-rules.xlsx".into(), content_base64: encode(&bytes), rows: n })
}

pub(crate) async fn template(b: &EngineBackend, _: SmtpRulesTemplate) -> Result<ExportedFile> {
    require(b)?;
    let bytes = tokio::task::spawn_blocking(xlsx::rules_template)
        .await
        .map_err(|e| Error::internal(format!("making the template failed: {e}")))??;
    Ok(ExportedFile { file_name: "postdesk-smtp-rules-template.xlsx".into(), content_base64: encode(&bytes), rows: 0 })
}

pub(crate) async fn status(b: &EngineBackend, _: GetSmtpStatus) -> Result<SmtpStatus> {
    require(b)?;
    let monitor = b.engine.smtp.monitor.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut status = monitor.map(|m| m.status()).unwrap_or_default();
    status.destinations = sql::queue::destinations(&mut *b.engine.read().await?, 100).await?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend;

    fn rule(name: &str, kind: SmtpRuleKind, value: &str) -> AddSmtpRule {
        AddSmtpRule {
            name: name.into(),
            kind,
            value: value.into(),
            action: SmtpRuleAction::Reject,
            note: None,
            position: None,
        }
    }

    #[tokio::test]
    async fn the_change_notification_fires_on_commit_and_not_on_refusal() {
        let engine = Engine::open_in_memory().await.unwrap();
        let mut changes = engine.subscribe_smtp_config();
        // A clone made before or after subscribing shares the channel.
        let b = engine.clone().local_backend();
        assert!(!changes.has_changed().unwrap());

        let added = b.add_smtp_rule(rule("block-net", SmtpRuleKind::ClientIp, "192.0.2.0/24")).await.unwrap();
        assert!(changes.has_changed().unwrap());
        let v1 = *changes.borrow_and_update();
        assert_eq!(engine.smtp_config().await.unwrap().version, v1);

        // Refusals: bad value, duplicate name, bad settings, unknown rule.
        b.add_smtp_rule(rule("x", SmtpRuleKind::ClientIp, "300.1.1.1")).await.unwrap_err();
        b.add_smtp_rule(rule("Block-Net", SmtpRuleKind::SenderDomain, "example.com")).await.unwrap_err();
        let bad = SmtpSettings { max_recipients: 0, ..Default::default() };
        b.update_smtp_settings(UpdateSmtpSettings { settings: bad }).await.unwrap_err();
        b.remove_smtp_rule(RemoveSmtpRule { id: added.id + 100 }).await.unwrap_err();
        assert!(!changes.has_changed().unwrap(), "refusals notify nobody");
        assert_eq!(engine.smtp_config().await.unwrap().version, v1);

        let settings = SmtpSettings { hostname: "mx.example.com".into(), ..Default::default() };
        b.update_smtp_settings(UpdateSmtpSettings { settings }).await.unwrap();
        assert!(changes.has_changed().unwrap());
        let v2 = *changes.borrow_and_update();
        assert!(v2 > v1);
        let config = engine.smtp_config().await.unwrap();
        assert_eq!((config.version, config.settings.hostname.as_str(), config.rules.len()), (v2, "mx.example.com", 1));
    }

    #[tokio::test]
    async fn the_version_survives_reopening_and_seeds_the_channel() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).await.unwrap();
        engine.local_backend().add_smtp_rule(rule("a", SmtpRuleKind::SenderDomain, "spam.example")).await.unwrap();
        let version = engine.smtp_config().await.unwrap().version;
        engine.close().await;
        let reopened = Engine::open(dir.path()).await.unwrap();
        assert_eq!(*reopened.subscribe_smtp_config().borrow(), version);
        assert_eq!(reopened.smtp_config().await.unwrap().rules[0].value, "spam.example");
    }

    struct Fixed(SmtpStatus);
    impl MailServiceMonitor for Fixed {
        fn status(&self) -> SmtpStatus {
            self.0.clone()
        }
        fn client_services(&self) -> ClientServices {
            ClientServices::default()
        }
    }

    #[tokio::test]
    async fn the_monitor_is_shared_by_clones_and_read_by_get_smtp_status() {
        let engine = Engine::open_in_memory().await.unwrap();
        let other = engine.clone();
        let b = other.local_backend();
        assert_eq!(b.get_smtp_status(GetSmtpStatus {}).await.unwrap(), SmtpStatus::default());
        let mut status = SmtpStatus { running: true, ..Default::default() };
        status.counters.messages_accepted = 7;
        status.counters.refused.insert("block-net".into(), 2);
        engine.set_mail_monitor(Some(Arc::new(Fixed(status.clone()))));
        assert_eq!(b.get_smtp_status(GetSmtpStatus {}).await.unwrap(), status);
        engine.set_mail_monitor(None);
        assert!(!b.get_smtp_status(GetSmtpStatus {}).await.unwrap().running);
    }

    #[test]
    fn ip_values_are_canonical_and_host_bits_refused() {
        assert_eq!(ip_or_network(" 192.0.2.7 ").unwrap(), "192.0.2.7");
        assert_eq!(ip_or_network("192.0.2.7/32").unwrap(), "192.0.2.7");
        assert_eq!(ip_or_network("192.0.2.0/24").unwrap(), "192.0.2.0/24");
        assert_eq!(ip_or_network("2001:DB8::/32").unwrap(), "2001:db8::/32");
        assert_eq!(ip_or_network("::ffff:192.0.2.1").unwrap(), "192.0.2.1");
        let e = ip_or_network("192.0.2.7/24").unwrap_err();
        assert!(e.message.contains("192.0.2.0/24"), "{}", e.message);
        assert!(ip_or_network("10.0.0.0/33").unwrap_err().message.contains("prefix"));
        assert!(ip_or_network("example.com").unwrap_err().message.contains("not an IP"));
    }

    #[test]
    fn values_are_checked_by_kind() {
        assert_eq!(
            rule_value(SmtpRuleKind::SenderAddress, "Spam@Bücher.Example").unwrap(),
            "spam@xn--bcher-kva.example"
        );
        assert_eq!(rule_value(SmtpRuleKind::SenderDomain, "@Example.COM").unwrap(), "example.com");
        assert_eq!(rule_value(SmtpRuleKind::SenderDomain, "x").unwrap_err().field.as_deref(), Some("value"));
        assert!(rule_value(SmtpRuleKind::ClientIp, "").is_err());
    }

    #[test]
    fn settings_ranges_are_checked_with_their_field() {
        let ok = check_settings(SmtpSettings { hostname: "MX.Example.com.".into(), ..Default::default() }).unwrap();
        assert_eq!(ok.hostname, "mx.example.com");
        let field = |s: SmtpSettings| check_settings(s).unwrap_err().field.unwrap();
        let d = SmtpSettings::default;
        assert_eq!(field(SmtpSettings { max_message_bytes: 1023, ..d() }), "max_message_bytes");
        assert_eq!(field(SmtpSettings { max_recipients: 0, ..d() }), "max_recipients");
        assert_eq!(field(SmtpSettings { max_recipients: 10_001, ..d() }), "max_recipients");
        assert_eq!(field(SmtpSettings { command_timeout_secs: 9, ..d() }), "command_timeout_secs");
        assert_eq!(field(SmtpSettings { data_timeout_secs: 5, ..d() }), "data_timeout_secs");
        assert_eq!(field(SmtpSettings { hostname: "bad host".into(), ..d() }), "hostname");
        assert_eq!(field(SmtpSettings { banner: "hi\r\n250 evil".into(), ..d() }), "banner");
        let mut s = d();
        s.connection.messages_per_ip = Some(SmtpRateLimit { count: 10, window_secs: 0 });
        assert_eq!(field(s), "connection.messages_per_ip.window_secs");
        assert!(check_settings(SmtpSettings { max_recipients: 10_000, command_timeout_secs: 10, ..d() }).is_ok());
        let probing = |f: fn(&mut SmtpProbingPolicy)| {
            let mut s = d();
            f(&mut s.probing);
            check_settings(s).map_err(|e| (e.field.unwrap(), e.message))
        };
        assert_eq!(probing(|p| p.slow_after = 0).unwrap_err().0, "probing.slow_after");
        assert_eq!(probing(|p| p.delay_step_secs = 61).unwrap_err().0, "probing.delay_step_secs");
        assert_eq!(probing(|p| p.max_unknown = 0).unwrap_err().0, "probing.max_unknown");
        assert_eq!(probing(|p| p.penalty_secs = 86_401).unwrap_err().0, "probing.penalty_secs");
        let (name, message) = probing(|p| p.slow_after = 11).unwrap_err();
        assert_eq!(name, "probing.slow_after");
        assert!(message.contains("at or before the drop (10)"), "{message}");
        assert!(
            probing(|p| *p = SmtpProbingPolicy { slow_after: 1, delay_step_secs: 0, max_unknown: 1, penalty_secs: 0 })
                .is_ok()
        );
        let mut s = d();
        s.data.in_flight_bytes = MIN_IN_FLIGHT_BYTES - 1;
        assert_eq!(field(s), "data.in_flight_bytes");
        let mut s = SmtpSettings { max_message_bytes: 100 * 1024 * 1024, ..d() };
        s.data.in_flight_bytes = 64 * 1024 * 1024;
        let e = check_settings(s).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("data.in_flight_bytes"));
        assert!(e.message.contains("at least the message size limit (104857600 bytes)"), "{}", e.message);
    }
}
