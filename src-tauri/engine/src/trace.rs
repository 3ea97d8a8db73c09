//! The message trace: a record of every message the server handled and what became of it.
//!
//! Written where each step already happens, inside the transaction that is there anyway:
//! * a message answered 250 is recorded with its first steps (accepted; filed into INBOX
//!   or Junk with the sender checks; not taken by a mailbox; queued for another server)
//!   by `Engine::deliver_batch`, in its batch transaction ([`record_delivery`]);
//! * what another server answered (delivered, deferred, bounced) by
//!   `Engine::report_outbound`, in its batch transaction ([`record_outbound`]);
//! * a message refused during the SMTP dialogue by [`Engine::record_refusals`], which the
//!   mail server calls with batches of refusals (one transaction per batch).
//!
//! So the SMTP accept path gains no transaction and no fsync. Read by `list_message_trace`,
//! `get_message_trace` and the export (page `accounts`; a caller limited to some domains
//! sees only messages with an address in them). Kept for `retention_days` (a stored
//! setting, default [`DEFAULT_TRACE_RETENTION_DAYS`]); [`Engine::purge_trace`] removes older
//! records in bounded batches, run with the recycle-bin sweep.

use base64::Engine as _;

use super::audit::{self, Change};
use super::sql::{self, Conn};
use super::{Engine, EngineBackend};
use crate::api::*;
use crate::error::{Error, Result};
use crate::model::{CursorPage, ExportedFile, Page, Role, page_limit, pair_cursor};
use crate::{validate, xlsx};
use postdesk_contract::mail::{KeyedMessage, KeyedOutcome, TracedRefusal};
use postdesk_contract::outbound::{RecipientResult, RecipientStatus};
use postdesk_contract::trace::{
    DEFAULT_TRACE_RETENTION_DAYS, ExportFormat, MAX_TRACE_EXPORT, MAX_TRACE_RETENTION_DAYS, TraceSettings, TraceStage,
    TraceStep, TracedMessage, TracedMessageDetail, csv, step_text,
};

/// Records removed per purge transaction.
const PURGE_BATCH: i64 = 10_000;
/// Purge transactions per sweep at most (the rest waits for the next sweep).
const PURGE_ROUNDS: usize = 100;
/// Longest text kept in a step's detail or a rule name.
const MAX_DETAIL: usize = 1000;

fn cut(s: &str) -> &str {
    if s.len() <= MAX_DETAIL {
        return s;
    }
    let mut end = MAX_DETAIL;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

async fn step(
    conn: &mut Conn,
    id: i64,
    at: i64,
    stage: TraceStage,
    recipient: Option<&str>,
    rule: Option<&str>,
    detail: &str,
) -> Result<()> {
    let s = sql::trace::NewStep {
        message: id,
        at,
        stage: stage.as_str(),
        bit: stage.bit(),
        recipient,
        rule: rule.map(cut),
        detail: cut(detail),
    };
    sql::trace::insert_step(conn, &s).await
}

/// Records a message just delivered by `deliver_batch` (in its transaction): how it
/// arrived, and where each copy went. A message without [`KeyedMessage::trace`] (one of
/// the server's own) is not recorded.
pub(crate) async fn record_delivery(conn: &mut Conn, m: &KeyedMessage, outcome: &KeyedOutcome, now: i64) -> Result<()> {
    let Some(t) = &m.trace else { return Ok(()) };
    let new = sql::trace::NewMessage {
        key: &m.key,
        at: t.at,
        client: &t.client,
        account: t.account.as_deref(),
        sender: &t.sender,
        recipients: &t.recipients,
        size: Some(m.raw.len() as i64),
        message_id: t.message_id.as_deref().map(cut),
    };
    let Some(id) = sql::trace::insert_message(conn, &new).await? else { return Ok(()) };
    step(conn, id, t.at, TraceStage::Accepted, None, None, "").await?;
    for d in &outcome.delivered {
        // A copy a monitoring rule filed elsewhere: its folder as the step's rule.
        let (stage, rule) = match d.folder.as_str() {
            "Junk" => (TraceStage::Junk, t.junk.as_deref()),
            "INBOX" => (TraceStage::Inbox, None),
            folder => (TraceStage::Inbox, Some(folder)),
        };
        step(conn, id, now, stage, Some(&d.account), rule, &t.checks).await?;
    }
    for (mailbox, why) in &outcome.refused {
        step(conn, id, now, TraceStage::NotDelivered, Some(mailbox), None, &why.message).await?;
    }
    if let Some(outbound) = &m.outbound {
        for r in &outbound.recipients {
            step(conn, id, now, TraceStage::Queued, Some(r), None, "").await?;
        }
    }
    Ok(())
}

/// Records what an attempt did to a queued recipient (in `report_outbound`'s transaction).
pub(crate) async fn record_outbound(conn: &mut Conn, now: i64, r: &RecipientResult) -> Result<()> {
    let stage = match r.status {
        RecipientStatus::Delivered => TraceStage::Delivered,
        RecipientStatus::Deferred => TraceStage::Deferred,
        RecipientStatus::Bounced => TraceStage::Bounced,
        RecipientStatus::Queued => return Ok(()),
    };
    sql::trace::insert_outbound_step(conn, r.id, now, stage.as_str(), stage.bit(), cut(&r.reply)).await
}

impl Engine {
    /// See [`OutboundQueue::record_refusals`](postdesk_contract::mail::OutboundQueue::record_refusals).
    pub async fn record_refusals(&self, refusals: Vec<TracedRefusal>) -> Result<()> {
        if refusals.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for r in &refusals {
            let kind = if r.discarded { "discarded" } else { "refused" };
            let key = format!("{kind}:{}", hex::encode(rand::random::<[u8; 12]>()));
            let new = sql::trace::NewMessage {
                key: &key,
                at: r.at,
                client: &r.client,
                account: r.account.as_deref(),
                sender: &r.sender,
                recipients: &r.recipients,
                size: None,
                message_id: None,
            };
            if let Some(id) = sql::trace::insert_message(&mut tx, &new).await? {
                let one = (r.recipients.len() == 1).then(|| r.recipients[0].as_str());
                let stage = if r.discarded { TraceStage::Discarded } else { TraceStage::Refused };
                step(&mut tx, id, r.at, stage, one, Some(&r.rule), &r.reply).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes trace records older than the retention at `now`, at most
    /// `PURGE_BATCH × PURGE_ROUNDS` per call, one transaction per batch; how many went.
    pub async fn purge_trace(&self, now: time::OffsetDateTime) -> Result<u64> {
        let days = sql::trace::retention_days(&mut *self.read().await?).await?;
        let before = (now - time::Duration::days(days)).unix_timestamp();
        let mut gone = 0;
        for _ in 0..PURGE_ROUNDS {
            let mut tx = self.write().await?;
            let n = sql::trace::purge(&mut tx, before, PURGE_BATCH).await?;
            tx.commit().await?;
            gone += n;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        Ok(gone)
    }
}

fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at).map(super::format_time).unwrap_or_default()
}

fn parse_time(value: &str, field: &str) -> Result<i64> {
    time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            Error::validation(format!("'{value}' is not a time: give it as 2026-12-01T09:00:00Z")).with_field(field)
        })
}

fn message(r: sql::trace::MessageRow) -> TracedMessage {
    let outcome = TraceStage::parse(&r.outcome).unwrap_or(TraceStage::Accepted);
    TracedMessage {
        id: r.id,
        at: rfc3339(r.at),
        client: r.client,
        account: r.account,
        sender: r.sender,
        recipients: r.recipients.split('\n').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        size: r.size.map(|s| s.max(0) as u64),
        message_id: r.message_id,
        outcome,
        outcome_text: outcome.label().to_string(),
    }
}

/// A search's filter, checked against the caller.
struct Search {
    address: Option<String>,
    domain: Option<String>,
    message_id: Option<String>,
    stage_bit: Option<i64>,
    since: Option<i64>,
    until: Option<i64>,
    scope: Option<String>,
}

/// Checks a search's fields and the caller: the accounts page; a domain filter in the
/// caller's domains; a caller limited to some domains sees only messages with an address
/// in them.
fn search(
    b: &EngineBackend,
    address: Option<&str>,
    domain: Option<&str>,
    message_id: Option<&str>,
    outcome: Option<TraceStage>,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Search> {
    b.caller.require_page(Page::Accounts)?;
    let address = address.filter(|a| !a.trim().is_empty()).map(validate::address).transpose()?.map(|a| a.full());
    let domain = domain.filter(|d| !d.trim().is_empty()).map(validate::domain).transpose()?;
    if let Some(d) = &domain {
        b.caller.require(Page::Accounts, Some(d))?;
    }
    let message_id = message_id
        .map(|m| m.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        .filter(|m| !m.is_empty());
    if message_id.as_ref().is_some_and(|m| m.len() > MAX_DETAIL) {
        return Err(Error::validation("a Message-ID is at most 1000 characters").with_field("message_id"));
    }
    let since = since.filter(|s| !s.trim().is_empty()).map(|s| parse_time(s, "since")).transpose()?;
    let until = until.filter(|s| !s.trim().is_empty()).map(|s| parse_time(s, "until")).transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(Error::validation("the time range ends before it starts").with_field("until"));
    }
    let scope = match &b.caller.domains {
        Some(list) if b.caller.role != Role::Owner => Some(serde_json::to_string(list)?),
        _ => None,
    };
    Ok(Search { address, domain, message_id, stage_bit: outcome.map(TraceStage::bit), since, until, scope })
}

impl Search {
    fn filter(&self, before: Option<(i64, i64)>) -> sql::trace::Filter<'_> {
        sql::trace::Filter {
            address: self.address.as_deref(),
            domain: self.domain.as_deref(),
            message_id: self.message_id.as_deref(),
            stage_bit: self.stage_bit,
            since: self.since,
            until: self.until,
            before,
            scope: self.scope.as_deref(),
        }
    }
}

/// Up to `limit` messages of a search before `before`, newest first, each once; and
/// whether more follow.
async fn rows(
    conn: &mut Conn,
    s: &Search,
    before: Option<(i64, i64)>,
    limit: u32,
) -> Result<(Vec<sql::trace::MessageRow>, bool)> {
    let mut rows = sql::trace::page(conn, &s.filter(before), i64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    rows.dedup_by_key(|r| r.id);
    Ok((rows, more))
}

pub(crate) async fn list(b: &EngineBackend, p: ListMessageTrace) -> Result<CursorPage<TracedMessage>> {
    let s = search(
        b,
        p.address.as_deref(),
        p.domain.as_deref(),
        p.message_id.as_deref(),
        p.outcome,
        p.since.as_deref(),
        p.until.as_deref(),
    )?;
    let limit = page_limit(p.limit)?;
    // The cursor is `<at> <id>` of the page's last message.
    let before = match pair_cursor(p.after.as_deref())? {
        None => None,
        Some((at, id)) => match (at.parse::<i64>(), id.parse::<i64>()) {
            (Ok(at), Ok(id)) => Some((at, id)),
            _ => {
                return Err(Error::validation(format!(
                    "'{}' is not a cursor of this list: pass a page's `next`",
                    p.after.unwrap_or_default()
                ))
                .with_field("after"));
            }
        },
    };
    let mut conn = b.engine.read().await?;
    let (rows, more) = rows(&mut conn, &s, before, limit).await?;
    let next = if more { rows.last().map(|r| format!("{} {}", r.at, r.id)) } else { None };
    Ok(CursorPage { items: rows.into_iter().map(message).collect(), next })
}

pub(crate) async fn get(b: &EngineBackend, p: GetMessageTrace) -> Result<TracedMessageDetail> {
    let s = search(b, None, None, None, None, None, None)?;
    let mut conn = b.engine.read().await?;
    let Some(row) = sql::trace::message(&mut conn, p.id, s.scope.as_deref()).await? else {
        // A caller limited to some domains learns nothing of other domains' messages, not
        // even whether one exists.
        if s.scope.is_some() {
            return Err(Error::permission_denied(format!("traced message {} is not a message of your domains", p.id)));
        }
        return Err(Error::not_found(format!("there is no traced message {}", p.id)));
    };
    let steps = sql::trace::steps(&mut conn, p.id)
        .await?
        .into_iter()
        .map(|r| {
            let stage = TraceStage::parse(&r.stage).unwrap_or(TraceStage::Accepted);
            let text = step_text(stage, r.rule.as_deref(), &r.detail, r.recipient.as_deref());
            TraceStep { at: rfc3339(r.at), stage, recipient: r.recipient, rule: r.rule, detail: r.detail, text }
        })
        .collect();
    Ok(TracedMessageDetail { message: message(row), steps })
}

/// The trace export's header row.
const TRACE_COLUMNS: [&str; 9] =
    ["Time", "Client", "Account", "Sender", "Recipients", "Size", "Message-ID", "Outcome", "Steps"];

pub(crate) async fn export(b: &EngineBackend, p: ExportMessageTrace) -> Result<ExportedFile> {
    let s = search(
        b,
        p.address.as_deref(),
        p.domain.as_deref(),
        p.message_id.as_deref(),
        p.outcome,
        p.since.as_deref(),
        p.until.as_deref(),
    )?;
    let mut conn = b.engine.read().await?;
    let mut table = Vec::new();
    let mut before = None;
    while table.len() < MAX_TRACE_EXPORT as usize {
        let (rows, more) = rows(&mut conn, &s, before, 1000).await?;
        before = rows.last().map(|r| (r.at, r.id));
        for r in rows {
            let steps: Vec<String> = sql::trace::steps(&mut conn, r.id)
                .await?
                .into_iter()
                .map(|st| {
                    let stage = TraceStage::parse(&st.stage).unwrap_or(TraceStage::Accepted);
                    step_text(stage, st.rule.as_deref(), &st.detail, st.recipient.as_deref())
                })
                .collect();
            let m = message(r);
            table.push(vec![
                m.at,
                m.client,
                m.account.unwrap_or_default(),
                m.sender,
                m.recipients.join(" "),
                m.size.map(|s| s.to_string()).unwrap_or_default(),
                m.message_id.unwrap_or_default(),
                m.outcome_text,
                steps.join(" | "),
            ]);
        }
        if !more {
            break;
        }
    }
    table.truncate(MAX_TRACE_EXPORT as usize);
    file("postdesk-message-trace", "Message trace", &TRACE_COLUMNS, table, p.format.unwrap_or_default()).await
}

/// A table as the chosen file.
async fn file(
    name: &str,
    sheet: &'static str,
    columns: &'static [&'static str],
    table: Vec<Vec<String>>,
    format: ExportFormat,
) -> Result<ExportedFile> {
    let rows = table.len() as u32;
    let (bytes, ext) = match format {
        ExportFormat::Csv => (csv(columns, &table).into_bytes(), "csv"),
        ExportFormat::Xlsx => (
            tokio::task::spawn_blocking(move || xlsx::write_table(sheet, columns, &table))
                .await
                .map_err(|e| Error::internal(format!("writing the file failed: {e}")))??,
            "xlsx",
        ),
    };
    Ok(ExportedFile {
        file_name: format!("{name}.{ext}"),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        rows,
    })
}

pub(crate) async fn get_settings(b: &EngineBackend, _: GetTraceSettings) -> Result<TraceSettings> {
    b.caller.require_page(Page::Accounts)?;
    let days = sql::trace::retention_days(&mut *b.engine.read().await?).await?;
    Ok(TraceSettings { retention_days: u32::try_from(days).unwrap_or(DEFAULT_TRACE_RETENTION_DAYS) })
}

pub(crate) async fn update_settings(b: &EngineBackend, p: UpdateTraceSettings) -> Result<TraceSettings> {
    b.caller.require(Page::Smtp, None)?;
    if !(1..=MAX_TRACE_RETENTION_DAYS).contains(&p.retention_days) {
        return Err(Error::validation(format!(
            "{} days is out of range: trace records are kept 1 to {MAX_TRACE_RETENTION_DAYS} days",
            p.retention_days
        ))
        .with_field("retention_days"));
    }
    let mut tx = b.engine.write().await?;
    let before = TraceSettings {
        retention_days: u32::try_from(sql::trace::retention_days(&mut tx).await?)
            .unwrap_or(DEFAULT_TRACE_RETENTION_DAYS),
    };
    let after = TraceSettings { retention_days: p.retention_days };
    sql::trace::set_retention_days(&mut tx, i64::from(p.retention_days)).await?;
    let change = Change { action: UpdateTraceSettings::NAME, domain: None, target: "message trace settings" };
    audit::record(&mut tx, &b.caller.name, change, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// The login log export's header row.
const LOGIN_COLUMNS: [&str; 8] = ["Time", "Service", "Login", "Account", "Domain", "Client", "Outcome", "Reason"];

/// `export_logins`: the login log of a filter (the rows `list_logins` would show, newest
/// first, every page) as a file.
pub(crate) async fn export_logins(b: &EngineBackend, p: ExportLogins) -> Result<ExportedFile> {
    let mut table = Vec::new();
    let mut before = None;
    while table.len() < MAX_TRACE_EXPORT as usize {
        let page = crate::login::list(
            b,
            ListLogins { account: p.account.clone(), domain: p.domain.clone(), before, limit: Some(500) },
        )
        .await?;
        for r in page.items {
            table.push(vec![
                r.at,
                r.service,
                r.login,
                r.account.unwrap_or_default(),
                r.domain.unwrap_or_default(),
                r.client,
                r.outcome,
                r.explanation,
            ]);
        }
        match page.next_before {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    table.truncate(MAX_TRACE_EXPORT as usize);
    file("postdesk-logins", "Logins", &LOGIN_COLUMNS, table, p.format.unwrap_or_default()).await
}

#[cfg(test)]
mod tests {
    use postdesk_contract::mail::{KeyedMessage, TraceStart, TracedRefusal};
    use postdesk_contract::outbound::OutboundEnvelope;
    use postdesk_contract::trace::TraceStage;

    use crate::api::{GetMessageTrace, ListMessageTrace, UpdateTraceSettings};
    use crate::testing::engine_with;
    use crate::{Backend, Engine};

    const DAY: i64 = 24 * 3600;

    fn message(key: &str, at: i64, to: &[&str]) -> KeyedMessage {
        let local: Vec<String> = to.iter().filter(|a| a.ends_with("@example.com")).map(|a| a.to_string()).collect();
        let remote: Vec<String> = to.iter().filter(|a| !a.ends_with("@example.com")).map(|a| a.to_string()).collect();
        KeyedMessage {
            filed: Vec::new(),
            key: key.into(),
            mailboxes: local,
            raw: format!("Message-ID: <{key}@x>\r\nSubject: {key}\r\n\r\nhello\r\n").into_bytes(),
            folder: None,
            outbound: (!remote.is_empty())
                .then(|| OutboundEnvelope { sender: "someone@remote.test".into(), recipients: remote }),
            trace: Some(TraceStart {
                at,
                client: "192.0.2.1".into(),
                sender: "someone@remote.test".into(),
                recipients: to.iter().map(|a| a.to_string()).collect(),
                message_id: Some(format!("{key}@x")),
                checks: "spf=pass dkim=none dmarc=pass".into(),
                ..Default::default()
            }),
        }
    }

    async fn found(engine: &Engine, p: ListMessageTrace) -> Vec<String> {
        let page = engine.local_backend().list_message_trace(p).await.unwrap();
        page.items.into_iter().map(|m| m.message_id.unwrap_or_default()).collect()
    }

    fn by(address: &str) -> ListMessageTrace {
        ListMessageTrace { address: Some(address.into()), ..Default::default() }
    }

    #[tokio::test]
    async fn records_are_searched_once_each_and_purged_after_the_retention_with_an_injected_clock() {
        let engine = engine_with(&["ann@example.com", "bob@example.com"]).await;
        let now = time::OffsetDateTime::now_utc();
        let t = now.unix_timestamp();
        let batch = vec![
            message("old", t - 40 * DAY, &["ann@example.com"]),
            message("both", t - 2 * DAY, &["ann@example.com", "bob@example.com"]),
            message("new", t - 60, &["bob@example.com", "x@remote.test"]),
        ];
        engine.deliver_batch(batch.clone()).await.unwrap();
        // Delivered again (a redelivery after a restart): traced once.
        engine.deliver_batch(batch).await.unwrap();
        let refusal = TracedRefusal {
            at: t - 30,
            client: "192.0.2.9".into(),
            account: None,
            sender: "spam@remote.test".into(),
            recipients: vec!["nobody@example.com".into()],
            rule: "unknown_recipient".into(),
            reply: "550 5.1.1 no".into(),
            discarded: false,
        };
        engine.record_refusals(vec![refusal]).await.unwrap();

        assert_eq!(found(&engine, by("ann@example.com")).await, ["both@x", "old@x"]);
        // A domain search finds a message with two addresses there once.
        let domain = ListMessageTrace { domain: Some("example.com".into()), ..Default::default() };
        assert_eq!(found(&engine, domain).await, ["", "new@x", "both@x", "old@x"]);
        let week = ListMessageTrace {
            since: Some(crate::format_time(now - time::Duration::days(7))),
            ..by("ann@example.com")
        };
        assert_eq!(found(&engine, week).await, ["both@x"]);
        let queued = ListMessageTrace { outcome: Some(TraceStage::Queued), ..Default::default() };
        assert_eq!(found(&engine, queued).await, ["new@x"]);
        let inbox = ListMessageTrace { outcome: Some(TraceStage::Inbox), ..Default::default() };
        assert_eq!(found(&engine, inbox).await, ["new@x", "both@x", "old@x"], "a step seen, not only the latest");
        let b = engine.local_backend();
        let all = b.list_message_trace(ListMessageTrace::default()).await.unwrap();
        let both = all.items.iter().find(|m| m.message_id.as_deref() == Some("both@x")).unwrap();
        let d = b.get_message_trace(GetMessageTrace { id: both.id }).await.unwrap();
        let stages: Vec<TraceStage> = d.steps.iter().map(|s| s.stage).collect();
        assert_eq!(stages, [TraceStage::Accepted, TraceStage::Inbox, TraceStage::Inbox]);

        // 30 days by default: the 40-day-old record goes, with its addresses and steps.
        assert_eq!(engine.purge_trace(now).await.unwrap(), 1);
        assert_eq!(found(&engine, by("ann@example.com")).await, ["both@x"]);
        assert_eq!(engine.purge_trace(now).await.unwrap(), 0);
        // One day: the 2-day-old one goes too; a week later, everything.
        b.update_trace_settings(UpdateTraceSettings { retention_days: 1 }).await.unwrap();
        assert_eq!(engine.purge_trace(now).await.unwrap(), 1);
        assert_eq!(engine.purge_trace(now + time::Duration::days(7)).await.unwrap(), 2);
        assert!(found(&engine, ListMessageTrace::default()).await.is_empty());
        assert!(found(&engine, by("bob@example.com")).await.is_empty());
        let out_of_range = b.update_trace_settings(UpdateTraceSettings { retention_days: 0 }).await.unwrap_err();
        assert_eq!(out_of_range.field.as_deref(), Some("retention_days"));
    }
}
