//! The message trace: what the server did with each message it handled (accepted or
//! refused at SMTP, filed into INBOX or Junk, queued, delivered, deferred, bounced), as the
//! admin API shows it, and the plain words the pages use for it. Pure: the engine stores
//! it (`engine/src/trace.rs`), the mail services report it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Trace records are kept this many days unless the admin chose otherwise.
pub const DEFAULT_TRACE_RETENTION_DAYS: u32 = 30;
/// The longest retention the admin may choose (10 years).
pub const MAX_TRACE_RETENTION_DAYS: u32 = 3650;
/// The most rows one export holds (the newest first).
pub const MAX_TRACE_EXPORT: u32 = 100_000;

/// One step of a message's way through the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum TraceStage {
    /// Answered 250 at the end of DATA.
    Accepted,
    /// Refused during the SMTP dialogue (at MAIL, RCPT or the end of DATA).
    Refused,
    /// Stored in a mailbox's INBOX.
    Inbox,
    /// Stored in a mailbox's Junk folder (the inbound checks flagged it).
    Junk,
    /// A mailbox of ours did not take it (full, disabled since).
    NotDelivered,
    /// Queued for delivery to another server.
    Queued,
    /// The other server accepted it.
    Delivered,
    /// Not delivered yet; tried again later.
    Deferred,
    /// Given up: the sender is told (a bounce).
    Bounced,
    /// Answered 250 but dropped by a discard rule (the message, or one recipient).
    Discarded,
}

impl TraceStage {
    /// Every stage, in the order a message usually goes through them.
    pub const ALL: [TraceStage; 10] = [
        TraceStage::Accepted,
        TraceStage::Refused,
        TraceStage::Inbox,
        TraceStage::Junk,
        TraceStage::NotDelivered,
        TraceStage::Queued,
        TraceStage::Delivered,
        TraceStage::Deferred,
        TraceStage::Bounced,
        TraceStage::Discarded,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceStage::Accepted => "accepted",
            TraceStage::Refused => "refused",
            TraceStage::Inbox => "inbox",
            TraceStage::Junk => "junk",
            TraceStage::NotDelivered => "not_delivered",
            TraceStage::Queued => "queued",
            TraceStage::Delivered => "delivered",
            TraceStage::Deferred => "deferred",
            TraceStage::Bounced => "bounced",
            TraceStage::Discarded => "discarded",
        }
    }

    /// The stage stored as `name`.
    pub fn parse(name: &str) -> Option<TraceStage> {
        TraceStage::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The bit of this stage in a message's set of stages seen (`TraceStage::mask`).
    pub fn bit(self) -> i64 {
        1 << (self as i64)
    }

    /// A few words for a list ("Put in Junk").
    pub fn label(self) -> &'static str {
        match self {
            TraceStage::Accepted => "Accepted",
            TraceStage::Refused => "Refused",
            TraceStage::Inbox => "Delivered to the inbox",
            TraceStage::Junk => "Put in Junk",
            TraceStage::NotDelivered => "Not delivered to the mailbox",
            TraceStage::Queued => "Waiting to be sent out",
            TraceStage::Delivered => "Sent to the other server",
            TraceStage::Deferred => "Sending delayed, will retry",
            TraceStage::Bounced => "Bounced back to the sender",
            TraceStage::Discarded => "Accepted, then dropped by a discard rule",
        }
    }
}

/// One message of the trace, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct TracedMessage {
    /// Its trace id (what `get_message_trace` names).
    #[ts(type = "number")]
    pub id: i64,
    /// When the server first saw it (accepted or refused), RFC 3339 UTC.
    pub at: String,
    /// The client's IP address (empty for a message the server wrote itself).
    pub client: String,
    /// The account that signed in to send it, if any.
    pub account: Option<String>,
    /// The envelope sender; empty for the null sender (a bounce).
    pub sender: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// Bytes, when the message was received.
    #[ts(type = "number | null")]
    pub size: Option<u64>,
    /// Its `Message-ID` header, when it had one.
    pub message_id: Option<String>,
    /// Its latest step.
    pub outcome: TraceStage,
    /// The latest step in plain words.
    pub outcome_text: String,
}

/// One step of a message, as the detail shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct TraceStep {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The step.
    pub stage: TraceStage,
    /// The recipient it concerns, when it concerns one.
    pub recipient: Option<String>,
    /// The rule or reason code (`unknown_recipient`, `dmarc_fail`), when there is one.
    pub rule: Option<String>,
    /// The server's reply or the check results as recorded (`550 5.1.1 …`).
    pub detail: String,
    /// What happened, in plain words.
    pub text: String,
}

/// A message of the trace with every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct TracedMessageDetail {
    /// The message.
    pub message: TracedMessage,
    /// Its steps, oldest first.
    pub steps: Vec<TraceStep>,
}

/// The trace's settings (server-wide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct TraceSettings {
    /// Records older than this many days are removed (1–3650).
    pub retention_days: u32,
}

/// A file format of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values (UTF-8).
    #[default]
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// A refusal rule's code in plain words.
pub fn refusal_text(rule: &str) -> String {
    let words = match rule {
        "unknown_recipient" => "there is no such address here",
        "recipient_disabled" => "the recipient's mailbox is disabled",
        "recipient_probing" => "too many unknown recipients from this client",
        "relay_denied" | "relay" => "the server does not pass on mail for other domains from this client",
        "dmarc_reject" => "the author's domain fails its DMARC check and asks for refusal",
        "spf_fail" => "the sender's domain does not allow this server to send for it (SPF)",
        "message_too_big" | "recipient_size_limit" => "the message is too large",
        "over_quota" => "the recipient's mailbox is full",
        "sender_domain_unresolvable" => "the sender's domain cannot receive replies",
        "sender_malformed" => "the sender address is not valid",
        "sender_local_unauthenticated" => "a sender of our own domains must sign in first",
        "reverse_dns" => "the client's address has no matching host name",
        "auth_required" | "authentication_required" => "the client must sign in first",
        "sender_not_owned" => "the signed-in account may not send as this sender",
        "directory_unavailable" => "the server could not look the address up (temporary)",
        "data_storage" | "data_disk" | "data_budget" => "the server had no room for the message (temporary)",
        "too_many_recipients" => "too many recipients in one message",
        "message_rate" => "the client sent too much mail too fast",
        "external_send" => "the sender may not send outside the organisation",
        "external_receive" => "the recipient may not receive mail from outside the organisation",
        "client_protocol" => "the account may not send by SMTP",
        "auto_forward" => "automatic forwarding is not allowed",
        "group_send_permission" => "the sender may not write to this group",
        other => return format!("refused by the rule \u{201c}{other}\u{201d}"),
    };
    words.to_string()
}

/// Why a message went to Junk, in plain words.
pub fn junk_text(reason: &str) -> String {
    match reason {
        "dmarc_fail" => "the author's domain failed its DMARC check".into(),
        "spf_fail" => "the sender's domain does not list the sending server (SPF failed)".into(),
        other => format!("flagged by the check \u{201c}{other}\u{201d}"),
    }
}

/// The sender checks recorded as `spf=pass dkim=none dmarc=fail` in plain words.
pub fn checks_text(detail: &str) -> String {
    let mut parts = Vec::new();
    for token in detail.split_whitespace() {
        if let Some((method, result)) = token.split_once('=') {
            let name = match method {
                "spf" => "SPF",
                "dkim" => "DKIM",
                "dmarc" => "DMARC",
                _ => continue,
            };
            let result = match result {
                "pass" => "passed",
                "fail" => "failed",
                "softfail" => "failed softly",
                "none" => "not used",
                "neutral" => "neutral",
                "temperror" => "could not be checked (temporary)",
                "permerror" => "broken record",
                other => other,
            };
            parts.push(format!("{name} {result}"));
        }
    }
    if parts.is_empty() { String::new() } else { format!("Sender checks: {}.", parts.join(", ")) }
}

/// A step in plain words.
pub fn step_text(stage: TraceStage, rule: Option<&str>, detail: &str, recipient: Option<&str>) -> String {
    let to = recipient.map(|r| format!(" for {r}")).unwrap_or_default();
    let reply = if detail.is_empty() { String::new() } else { format!(" The server answered: {detail}") };
    match stage {
        TraceStage::Accepted => format!("The server accepted the message{to}."),
        TraceStage::Refused => {
            format!("Refused{to}: {}.{reply}", refusal_text(rule.unwrap_or("")))
        }
        TraceStage::Inbox => {
            let checks = checks_text(detail);
            if let Some(folder) = rule {
                format!("Filed into the folder “{folder}”{to} by a monitoring rule. {checks}").trim_end().to_string()
            } else if checks.is_empty() {
                format!("Delivered to the inbox{to}.")
            } else {
                format!("Delivered to the inbox{to}. {checks}")
            }
        }
        TraceStage::Junk => {
            let why = rule.map(junk_text).unwrap_or_else(|| "flagged by the inbound checks".into());
            let checks = checks_text(detail);
            format!("Put in the Junk folder{to}: {why}. {checks}").trim_end().to_string()
        }
        TraceStage::NotDelivered => format!("Not delivered to the mailbox{to}: {detail}"),
        TraceStage::Queued => format!("Waiting to be sent to the other server{to}."),
        TraceStage::Delivered => format!("The other server accepted it{to}.{reply}"),
        TraceStage::Deferred => format!("Not sent yet{to}; the server will try again.{reply}"),
        TraceStage::Bounced => format!("Given up{to}; the sender is told.{reply}"),
        TraceStage::Discarded => format!(
            "Accepted{to} and then dropped, as the rule \u{201c}{}\u{201d} says: nobody receives it and the sender is not told.{reply}",
            rule.unwrap_or("")
        ),
    }
}

/// A cell of a CSV or XLSX export that a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return first) gets a `'` in front, so it stays text.
pub fn formula_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// Rows as CSV (RFC 4180: fields quoted when needed, CRLF line ends), every cell
/// formula-safe.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    fn field(out: &mut String, value: &str) {
        let value = formula_safe(value);
        if value.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&value);
        }
    }
    let mut out = String::new();
    for (i, h) in header.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(&mut out, h);
    }
    out.push_str("\r\n");
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, v);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_and_have_distinct_bits() {
        let mut bits = 0;
        for s in TraceStage::ALL {
            assert_eq!(TraceStage::parse(s.as_str()), Some(s));
            assert_eq!(bits & s.bit(), 0);
            bits |= s.bit();
        }
        assert_eq!(TraceStage::parse("nope"), None);
    }

    #[test]
    fn cells_that_would_be_formulas_stay_text() {
        assert_eq!(formula_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(formula_safe("+1"), "'+1");
        assert_eq!(formula_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(formula_safe("ann@example.com"), "ann@example.com");
        let text = csv(&["a", "b"], &[vec!["=1+1".into(), "x,\"y\"".into()]]);
        assert_eq!(text, "a,b\r\n'=1+1,\"x,\"\"y\"\"\"\r\n");
    }

    #[test]
    fn steps_read_as_plain_words() {
        let junk = step_text(TraceStage::Junk, Some("dmarc_fail"), "spf=pass dkim=none dmarc=fail", Some("a@b.c"));
        assert_eq!(
            junk,
            "Put in the Junk folder for a@b.c: the author's domain failed its DMARC check. Sender checks: SPF \
             passed, DKIM not used, DMARC failed."
        );
        let refused = step_text(TraceStage::Refused, Some("unknown_recipient"), "550 5.1.1 no", Some("x@b.c"));
        assert_eq!(refused, "Refused for x@b.c: there is no such address here. The server answered: 550 5.1.1 no");
        let filed = step_text(TraceStage::Inbox, Some("Invoices"), "spf=pass", Some("a@b.c"));
        assert_eq!(
            filed,
            "Filed into the folder “Invoices” for a@b.c by a monitoring rule. Sender checks: SPF passed."
        );
        assert_eq!(step_text(TraceStage::Inbox, None, "", Some("a@b.c")), "Delivered to the inbox for a@b.c.");
    }
}
