//! Monitoring and copy rules on the delivery path (seed 004): which monitor mailboxes get a
//! copy of a message, and which of its mailboxes file their copy into a rule's folder.
//! The matching is the contract's pure [`MonitorRule::fires`]; this module gathers the facts
//! (who takes part, their departments, the message's size and text).

use std::collections::BTreeSet;

use postdesk_contract::ErrorCode;
use postdesk_contract::monitor::{KEYWORD_SCAN_BYTES, MonitorAction, MonitorFacts, Party};

use crate::Lookups;

/// What the monitoring rules do to one message.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Monitored {
    /// Monitor mailboxes that get a copy (in their INBOX).
    pub copies: BTreeSet<String>,
    /// Mailboxes whose copy goes into a folder, as (mailbox, folder); the first rule (by id)
    /// that files a mailbox decides its folder.
    pub filed: Vec<(String, String)>,
}

/// The subject and body text of `raw`, lower case, at most [`KEYWORD_SCAN_BYTES`].
pub(crate) fn text_of(raw: &[u8]) -> String {
    let Some(m) = mail_parser::MessageParser::new().parse(raw) else { return String::new() };
    let mut text = m.subject().unwrap_or_default().to_lowercase();
    for i in 0..m.text_body.len().max(m.html_body.len()) {
        if text.len() >= KEYWORD_SCAN_BYTES {
            break;
        }
        if let Some(body) = m.body_text(i) {
            text.push('\n');
            text.push_str(&body.to_lowercase());
        }
    }
    if text.len() > KEYWORD_SCAN_BYTES {
        let mut cut = KEYWORD_SCAN_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// What the rules do to a message from `envelope` filed into `mailboxes` (our accounts).
pub(crate) async fn apply(
    lookups: &Lookups,
    envelope: &postdesk_smtp::Envelope,
    raw: &[u8],
    mailboxes: &[String],
) -> postdesk_contract::Result<Monitored> {
    let rules = lookups.monitor_rules().await?;
    if rules.is_empty() {
        return Ok(Monitored::default());
    }
    let sender = envelope.mail_from.to_ascii_lowercase();
    let recipients: Vec<String> = envelope.recipients.iter().map(|r| r.to_ascii_lowercase()).collect();
    let local = |a: &str| {
        let d = a.rsplit_once('@').map_or("", |(_, d)| d).to_string();
        async move { lookups.is_local_domain(&d).await }
    };
    let sender_ours = !sender.is_empty() && local(&sender).await?;
    let mut any_external = !sender_ours;
    for r in &recipients {
        any_external |= !local(r).await?;
    }
    // The parties: the sender when it is ours, then the mailboxes.
    let people: Vec<String> = sender_ours
        .then(|| sender.clone())
        .into_iter()
        .chain(mailboxes.iter().map(|m| m.to_ascii_lowercase()))
        .collect();
    let by_department = rules.iter().any(|r| r.scope_department.is_some());
    let mut departments = Vec::with_capacity(people.len());
    for p in &people {
        departments.push(if by_department { lookups.department(p).await? } else { None });
    }
    let parties: Vec<Party<'_>> =
        people.iter().zip(&departments).map(|(a, d)| Party { address: a, department: d.as_deref() }).collect();
    let mailbox_parties = &parties[usize::from(sender_ours)..];
    let text = if rules.iter().any(|r| r.keyword.is_some() || r.except_keyword.is_some()) {
        let raw = raw.to_vec();
        tokio::task::spawn_blocking(move || text_of(&raw))
            .await
            .map_err(|e| postdesk_contract::Error::internal(format!("monitoring task failed: {e}")))?
    } else {
        String::new()
    };
    let facts =
        MonitorFacts { sender: &sender, recipients: &recipients, any_external, size: raw.len() as u64, text: &text };
    let mut out = Monitored::default();
    for rule in rules.iter().filter(|r| r.fires(&facts, &parties)) {
        match rule.action {
            MonitorAction::Copy => match lookups.resolve_recipient(&rule.target).await {
                Ok(r) => out.copies.extend(r.mailboxes),
                Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::Validation) => {
                    tracing::warn!(rule = %rule.name, queue_id = %envelope.queue_id, "monitor copy not delivered: {}", e.message);
                }
                Err(e) => return Err(e),
            },
            MonitorAction::Folder => {
                for (mailbox, party) in mailboxes.iter().zip(mailbox_parties) {
                    if rule.covers(party) && !out.filed.iter().any(|(m, _)| m == mailbox) {
                        out.filed.push((mailbox.clone(), rule.target.clone()));
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_subject_and_every_body_part_in_lower_case() {
        let raw = b"Subject: Quarterly Numbers\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlain PART\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Html <b>Part</b></p>\r\n--b--\r\n";
        let t = text_of(raw);
        assert!(t.starts_with("quarterly numbers"), "{t}");
        assert!(t.contains("plain part"), "{t}");
    }

    #[test]
    fn the_text_is_bounded() {
        let body = "é".repeat(KEYWORD_SCAN_BYTES);
        let raw = format!(
            "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
        );
        let t = text_of(raw.as_bytes());
        assert!(t.len() <= KEYWORD_SCAN_BYTES && t.len() > KEYWORD_SCAN_BYTES - 4, "{}", t.len());
    }
}
