//! The auto-reply engine (RFC 3834), per account: set for shared mailboxes today
//! ([`crate::shared`]), reusable for any account (the self-service portal). A delivery asks
//! [`reply_for`] for every copy it files into an INBOX, inside its own transaction, so the
//! record of who was answered and the queued reply are written with the message.
//!
//! Invariants (the rules of [`postdesk_contract::autoreply`]):
//! * at most one reply per sender per period: the answered sender is recorded under the
//!   rule's generation, which rises only when a new period starts (turned on, or its dates
//!   changed); at most [`MAX_REMEMBERED_SENDERS`] senders per account are kept (the oldest
//!   forgotten);
//! * never to the null sender, the mailbox itself, automatic senders, nor to a message
//!   marked as list, bulk or automatic mail;
//! * the reply has `Auto-Submitted: auto-replied`, `In-Reply-To`/`References`, and the null
//!   envelope sender (so nothing answers it back).

use mail_builder::MessageBuilder;
use mail_builder::headers::text::Text;
use postdesk_contract::autoreply::*;

use crate::error::{Error, Result};
use crate::sql::{self, autoreply::Rule};

/// One auto-reply to send.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// To whom (the original's envelope sender, canonical lower case).
    pub to: String,
    /// The RFC 5322 message.
    pub raw: Vec<u8>,
}

fn parse_time(value: &Option<String>, field: &str) -> Result<Option<time::OffsetDateTime>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map(Some).map_err(|_| {
                Error::validation(format!("'{v}' is not a date and time (RFC 3339, e.g. 2026-12-24T00:00:00Z)"))
                    .with_field(field)
            })
        }
    }
}

/// The auto-reply `p` checked and in its stored form (times as the engine writes them).
pub(crate) fn checked(p: AutoReply) -> Result<AutoReply> {
    let starts = parse_time(&p.starts_at, "starts_at")?;
    let ends = parse_time(&p.ends_at, "ends_at")?;
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        return Err(Error::validation("the period ends before it starts").with_field("ends_at"));
    }
    let subject = p.subject.trim().to_string();
    if subject.chars().count() > MAX_AUTO_REPLY_SUBJECT {
        return Err(Error::validation(format!("the subject is longer than {MAX_AUTO_REPLY_SUBJECT} characters"))
            .with_field("subject"));
    }
    if subject.chars().any(char::is_control) {
        return Err(
            Error::validation("the subject may not hold line breaks or control characters").with_field("subject")
        );
    }
    if p.text.len() > MAX_AUTO_REPLY_TEXT {
        return Err(
            Error::validation(format!("the text is longer than {} KiB", MAX_AUTO_REPLY_TEXT / 1024)).with_field("text")
        );
    }
    if p.text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Error::validation("the text may not hold control characters").with_field("text"));
    }
    if p.enabled && (subject.is_empty() || p.text.trim().is_empty()) {
        return Err(Error::validation("an auto-reply that answers needs a subject and a text")
            .with_field(if subject.is_empty() { "subject" } else { "text" }));
    }
    Ok(AutoReply {
        enabled: p.enabled,
        starts_at: starts.map(crate::format_time),
        ends_at: ends.map(crate::format_time),
        subject,
        text: p.text.replace("\r\n", "\n"),
    })
}

/// The account's auto-reply (off when never set).
pub(crate) async fn get(conn: &mut sql::Conn, account_id: i64) -> Result<AutoReply> {
    Ok(sql::autoreply::get(conn, account_id).await?.map(view).unwrap_or_default())
}

fn view(r: Rule) -> AutoReply {
    AutoReply { enabled: r.enabled, starts_at: r.starts_at, ends_at: r.ends_at, subject: r.subject, text: r.body }
}

/// Stores the account's auto-reply (checked with [`checked`]). A new period (turned on, or
/// other dates) starts a new generation: senders answered before may be answered again.
pub(crate) async fn set(conn: &mut sql::Conn, account_id: i64, p: AutoReply) -> Result<AutoReply> {
    let before = sql::autoreply::get(&mut *conn, account_id).await?;
    let generation = match &before {
        None => 1,
        Some(b) if p.enabled && (!b.enabled || b.starts_at != p.starts_at || b.ends_at != p.ends_at) => {
            b.generation + 1
        }
        Some(b) => b.generation,
    };
    let rule = Rule {
        account_id,
        enabled: p.enabled,
        starts_at: p.starts_at.clone(),
        ends_at: p.ends_at.clone(),
        subject: p.subject.clone(),
        body: p.text.clone(),
        generation,
    };
    sql::autoreply::set(conn, &rule, &crate::now()).await?;
    Ok(p)
}

/// The header fields of `raw` as (lower-case name, unfolded value), up to the blank line.
fn header_fields(raw: &[u8]) -> Vec<(String, String)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |p| p + 2);
    let text = String::from_utf8_lossy(&raw[..end.min(256 * 1024)]);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// How old a fetched message may be and still be answered: a first fetch of a mailbox's
/// old mail must not answer everyone who ever wrote to it.
pub(crate) const FETCHED_MAX_AGE: time::Duration = time::Duration::hours(24);

/// The sender a fetched message is answered at (it came with no envelope of ours): its
/// `Return-Path`, the envelope sender the last server recorded (RFC 3834 §4), when it names
/// one and the message's `Date` is within [`FETCHED_MAX_AGE`] of `now`. `None`: no reply
/// (no or an empty `Return-Path`, no readable date, older mail).
pub(crate) fn fetched_sender(raw: &[u8], now: time::OffsetDateTime) -> Option<String> {
    let fields = header_fields(raw);
    let field = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim().to_string());
    let sender = field("return-path")?.trim_start_matches('<').trim_end_matches('>').trim().to_ascii_lowercase();
    if sender.is_empty() || !sender.contains('@') {
        return None;
    }
    let date = time::OffsetDateTime::parse(&field("date")?, &time::format_description::well_known::Rfc2822).ok()?;
    (now - date <= FETCHED_MAX_AGE && date - now <= FETCHED_MAX_AGE).then_some(sender)
}

/// Why a message gets no auto-reply by its sender or header (RFC 3834 §2), if it does not.
fn not_answered(sender: &str, mailbox: &str, fields: &[(String, String)]) -> Option<&'static str> {
    if sender.is_empty() {
        return Some("null sender");
    }
    if sender.eq_ignore_ascii_case(mailbox) {
        return Some("from the mailbox itself");
    }
    let local = sender.rsplit_once('@').map_or(sender, |(l, _)| l).to_ascii_lowercase();
    if ["mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply"].contains(&local.as_str())
        || local.starts_with("owner-")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
    {
        return Some("automatic sender");
    }
    for (name, value) in fields {
        let v = value.to_ascii_lowercase();
        match name.as_str() {
            "auto-submitted" if v.split(';').next().unwrap_or("").trim() != "no" => return Some("auto-submitted"),
            "list-id" | "list-unsubscribe" | "list-post" => return Some("list mail"),
            "precedence" if ["bulk", "list", "junk"].contains(&v.trim()) => return Some("bulk mail"),
            "x-auto-response-suppress" if v.contains("all") || v.contains("oof") || v.contains("autoreply") => {
                return Some("auto-response suppressed");
            }
            _ => {}
        }
    }
    None
}

fn in_period(rule: &Rule, now: time::OffsetDateTime) -> bool {
    let at = |v: &Option<String>| v.as_deref().and_then(|s| crate::parse_time(s).ok());
    at(&rule.starts_at).is_none_or(|s| now >= s) && at(&rule.ends_at).is_none_or(|e| now < e)
}

/// The auto-reply a copy of `raw` filed into `mailbox`'s INBOX calls for, from the envelope
/// `sender`, if any; records the answered sender in `conn`'s transaction.
pub(crate) async fn reply_for(
    conn: &mut sql::Conn,
    mailbox: &str,
    sender: &str,
    raw: &[u8],
    now: time::OffsetDateTime,
) -> Result<Option<Reply>> {
    let Some((rule, name)) = sql::autoreply::enabled_for(&mut *conn, mailbox).await? else {
        return Ok(None);
    };
    if !in_period(&rule, now) {
        return Ok(None);
    }
    let sender = sender.trim().to_ascii_lowercase();
    let fields = header_fields(raw);
    if let Some(why) = not_answered(&sender, mailbox, &fields) {
        tracing::debug!(%mailbox, %sender, why, "no auto-reply");
        return Ok(None);
    }
    if sql::autoreply::answered(&mut *conn, rule.account_id, &sender).await? == Some(rule.generation) {
        return Ok(None);
    }
    let now_unix = now.unix_timestamp();
    sql::autoreply::record_answer(conn, rule.account_id, &sender, rule.generation, now_unix, MAX_REMEMBERED_SENDERS)
        .await?;
    let field = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let message_id = field("message-id").map(|v| v.trim().trim_start_matches('<').trim_end_matches('>').to_string());
    let mut references: Vec<String> = field("references")
        .unwrap_or_default()
        .split_whitespace()
        .map(|r| r.trim_start_matches('<').trim_end_matches('>').to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let mut builder = MessageBuilder::new()
        .from((name.as_str(), mailbox))
        .to(sender.as_str())
        .subject(rule.subject.as_str())
        .header("Auto-Submitted", Text::new("auto-replied"))
        .header("Precedence", Text::new("auto_reply"))
        .text_body(rule.body.replace('\n', "\r\n"));
    if let Some(id) = message_id.filter(|id| !id.is_empty()) {
        references.push(id.clone());
        builder = builder.in_reply_to(id);
    }
    if !references.is_empty() {
        builder = builder.references(references);
    }
    let raw = builder.write_to_vec().map_err(|e| Error::internal(format!("cannot write an auto-reply: {e}")))?;
    Ok(Some(Reply { to: sender, raw }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(h: &str) -> Vec<(String, String)> {
        header_fields(format!("{h}\r\n\r\nbody\r\n").as_bytes())
    }

    #[test]
    fn fetched_mail_is_answered_at_its_return_path_only_when_recent() {
        let now = time::macros::datetime!(2026-12-04 12:00 UTC);
        let with = |headers: &str| fetched_sender(format!("{headers}\r\nSubject: x\r\n\r\nbody\r\n").as_bytes(), now);
        let date = "Date: Fri, 04 Dec 2026 11:00:00 +0000";
        assert_eq!(with(&format!("Return-Path: <A@Ext.test>\r\n{date}")).as_deref(), Some("a@ext.test"));
        assert_eq!(with(&format!("Return-Path: <>\r\n{date}")), None, "the null sender");
        assert_eq!(with(date), None, "no Return-Path");
        assert_eq!(with("Return-Path: <a@ext.test>"), None, "no date");
        assert_eq!(with("Return-Path: <a@ext.test>\r\nDate: yesterday"), None, "no readable date");
        assert_eq!(with("Return-Path: <a@ext.test>\r\nDate: Wed, 02 Dec 2026 11:00:00 +0000"), None, "two days old");
    }

    #[test]
    fn lists_bulk_automatic_and_null_senders_get_no_reply() {
        let m = "desk@example.com";
        let plain = fields("From: a@x.test\r\nSubject: hi");
        assert_eq!(not_answered("a@x.test", m, &plain), None);
        assert_eq!(not_answered("", m, &plain), Some("null sender"));
        assert_eq!(not_answered("DESK@example.com", m, &plain), Some("from the mailbox itself"));
        assert_eq!(not_answered("MAILER-DAEMON@x.test", m, &plain), Some("automatic sender"));
        assert_eq!(not_answered("list-request@x.test", m, &plain), Some("automatic sender"));
        for (h, why) in [
            ("List-Id: <news.x.test>", "list mail"),
            ("List-Unsubscribe: <mailto:u@x.test>", "list mail"),
            ("Precedence: bulk", "bulk mail"),
            ("Precedence: junk", "bulk mail"),
            ("Precedence: list", "bulk mail"),
            ("Auto-Submitted: auto-replied", "auto-submitted"),
            ("Auto-Submitted:\r\n auto-generated", "auto-submitted"),
        ] {
            assert_eq!(not_answered("a@x.test", m, &fields(h)), Some(why), "{h}");
        }
        assert_eq!(not_answered("a@x.test", m, &fields("Auto-Submitted: no")), None);
        assert_eq!(not_answered("a@x.test", m, &fields("Precedence: first-class")), None);
    }

    #[test]
    fn a_period_ends_after_it_starts_and_an_answering_reply_has_a_text() {
        let p = |s: &str, e: &str| AutoReply {
            enabled: true,
            starts_at: Some(s.into()),
            ends_at: Some(e.into()),
            subject: "Away".into(),
            text: "Back soon.".into(),
        };
        assert!(checked(p("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")).is_ok());
        assert_eq!(
            checked(p("2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z")).unwrap_err().field.as_deref(),
            Some("ends_at")
        );
        assert_eq!(checked(p("tomorrow", "2026-12-01T00:00:00Z")).unwrap_err().field.as_deref(), Some("starts_at"));
        let empty = AutoReply { text: " ".into(), ..p("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z") };
        assert_eq!(checked(empty).unwrap_err().field.as_deref(), Some("text"));
        let off = AutoReply { enabled: false, ..Default::default() };
        assert!(checked(off).is_ok(), "an auto-reply turned off needs nothing");
    }

    async fn ask(tx: &mut sql::Conn, sender: &str, when: &str) -> Option<Reply> {
        let raw = b"From: a@x.test\r\nMessage-ID: <m1@x.test>\r\nSubject: help\r\n\r\nhi\r\n";
        reply_for(tx, "desk@example.com", sender, raw, crate::parse_time(when).unwrap()).await.unwrap()
    }

    /// Once per sender per period, a new period answers again, outside the period nothing,
    /// and the answered senders are bounded (the oldest forgotten).
    #[tokio::test]
    async fn once_per_sender_per_period_and_the_answered_table_is_bounded() {
        let engine = crate::testing::engine_with(&["desk@example.com"]).await;
        let mut tx = engine.write().await.unwrap();
        let (id, _) = sql::accounts::id_and_status(&mut tx, "desk@example.com").await.unwrap().unwrap();
        let rule = |s: &str, e: &str| AutoReply {
            enabled: true,
            starts_at: Some(s.into()),
            ends_at: Some(e.into()),
            subject: "Away".into(),
            text: "Back on Monday.".into(),
        };
        set(&mut tx, id, checked(rule("2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z")).unwrap()).await.unwrap();
        assert!(ask(&mut tx, "a@x.test", "2026-11-30T23:59:59Z").await.is_none(), "before the period");
        let first = ask(&mut tx, "A@X.test", "2026-12-02T00:00:00Z").await.expect("answered");
        let text = String::from_utf8_lossy(&first.raw).into_owned();
        for needle in
            ["Auto-Submitted: auto-replied", "In-Reply-To: <m1@x.test>", "References: <m1@x.test>", "To: <a@x.test>"]
        {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
        assert!(ask(&mut tx, "a@x.test", "2026-12-03T00:00:00Z").await.is_none(), "once per period");
        assert!(ask(&mut tx, "a@x.test", "2026-12-08T00:00:00Z").await.is_none(), "after the period");
        // A new period: answered again, once.
        set(&mut tx, id, checked(rule("2026-12-08T00:00:00Z", "2026-12-15T00:00:00Z")).unwrap()).await.unwrap();
        assert!(ask(&mut tx, "a@x.test", "2026-12-09T00:00:00Z").await.is_some(), "a new period answers again");
        assert!(ask(&mut tx, "a@x.test", "2026-12-10T00:00:00Z").await.is_none());

        // Bounded: past `keep` the oldest answered senders are forgotten.
        for i in 0..5 {
            sql::autoreply::record_answer(&mut tx, id, &format!("s{i}@x.test"), 9, 100 + i, 3).await.unwrap();
        }
        assert_eq!(sql::autoreply::answered_count(&mut tx, id).await.unwrap(), 3);
        assert_eq!(sql::autoreply::answered(&mut tx, id, "s0@x.test").await.unwrap(), None, "the oldest forgotten");
        assert_eq!(sql::autoreply::answered(&mut tx, id, "s4@x.test").await.unwrap(), Some(9));
    }
}
