//! The policy seam: a decision at each SMTP stage.
//!
//! The session asks its [`Policy`] at connect, MAIL, RCPT and end of DATA, after the
//! built-in checks of the profile (lists, sender and connection policy) and the
//! directory. The backend's policy decision (external send/receive restrictions, group
//! send permissions, and whatever follows) plugs in here. Every refusal and discard names the rule
//! that caused it; the counters count per rule name.

use std::net::IpAddr;

use async_trait::async_trait;

use crate::config::{ListAction, ListMatch, ListRule, ListenerKind};
use crate::directory::Account;
use crate::reply::Reply;

/// Where in the SMTP dialogue a decision is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// A client connected (before the greeting).
    Connect,
    /// MAIL FROM.
    Mail,
    /// RCPT TO, once per recipient.
    Rcpt,
    /// The whole message was received (before the final reply).
    Data,
}

/// Everything known at the stage asked about.
#[derive(Debug, Clone)]
pub struct PolicyRequest<'a> {
    /// The stage.
    pub stage: Stage,
    /// The listener the client connected to.
    pub listener: ListenerKind,
    /// The client's address.
    pub client_ip: IpAddr,
    /// EHLO/HELO name (from Mail on).
    pub helo: Option<&'a str>,
    /// The authenticated account, if any.
    pub account: Option<&'a Account>,
    /// Whether the connection is encrypted.
    pub tls: bool,
    /// Envelope sender (from Mail on; empty for the null sender `<>`).
    pub mail_from: Option<&'a str>,
    /// Whether the sender's domain is one of ours (from Mail on).
    pub sender_is_local: bool,
    /// The recipient being decided on (Rcpt only).
    pub rcpt_to: Option<&'a str>,
    /// Whether that recipient's domain is one of ours (Rcpt only).
    pub recipient_is_local: bool,
    /// Recipients accepted so far (Data: all of them).
    pub recipients: &'a [String],
    /// The message as received, without our trace headers (Data only).
    pub message: Option<&'a [u8]>,
}

/// A policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No objection; later checks still run.
    Continue,
    /// Accepted by a white-list style rule: later policy checks of this transaction
    /// (this connection, at Connect) are skipped. The directory is still asked.
    Allow {
        /// Rule name.
        rule: String,
    },
    /// Refused with this reply.
    Reject {
        /// The reply sent to the client.
        reply: Reply,
        /// Rule name, for the counters.
        rule: String,
    },
    /// Answered as if accepted, never stored.
    Discard {
        /// Rule name, for the counters.
        rule: String,
    },
}

impl Verdict {
    /// A refusal under `rule` with `code`, enhanced code and text.
    pub fn reject(rule: impl Into<String>, code: u16, enhanced: [u8; 3], text: impl Into<String>) -> Verdict {
        Verdict::Reject { reply: Reply::new(code, enhanced, text), rule: rule.into() }
    }
}

/// A decision function asked at every stage.
#[async_trait]
pub trait Policy: Send + Sync + 'static {
    /// Decides on `request`. Must not block: it runs on the session's task.
    async fn check(&self, request: &PolicyRequest<'_>) -> Verdict;
}

/// Accepts everything (no policy beyond the profile's built-in checks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPolicy;

#[async_trait]
impl Policy for NoPolicy {
    async fn check(&self, _request: &PolicyRequest<'_>) -> Verdict {
        Verdict::Continue
    }
}

/// Applies the black/white lists of the profile: client-IP rules at Connect,
/// sender address and domain rules at Mail. The first matching rule decides.
pub(crate) fn list_verdict(rules: &[ListRule], stage: Stage, ip: IpAddr, sender: &str) -> Verdict {
    let sender = sender.to_ascii_lowercase();
    let sender_domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    for rule in rules {
        let hit = match (&rule.matches, stage) {
            (ListMatch::ClientIp(net), Stage::Connect) => net.contains(ip),
            (ListMatch::SenderAddress(a), Stage::Mail) => !sender.is_empty() && a.eq_ignore_ascii_case(&sender),
            (ListMatch::SenderDomain(d), Stage::Mail) => {
                let d = d.trim_start_matches('@').to_ascii_lowercase();
                !sender_domain.is_empty()
                    && (sender_domain == d
                        || sender_domain.strip_suffix(d.as_str()).is_some_and(|head| head.ends_with('.')))
            }
            _ => false,
        };
        if !hit {
            continue;
        }
        let rule_name = rule.name.clone();
        return match rule.action {
            ListAction::Allow => Verdict::Allow { rule: rule_name },
            ListAction::Discard => Verdict::Discard { rule: rule_name },
            ListAction::Reject if stage == Stage::Connect => {
                Verdict::reject(rule_name, 554, [5, 7, 1], "Connection refused by policy")
            }
            ListAction::Reject => Verdict::reject(rule_name, 550, [5, 7, 1], "Sender refused by policy"),
        };
    }
    Verdict::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, matches: ListMatch, action: ListAction) -> ListRule {
        ListRule { name: name.into(), matches, action }
    }

    #[test]
    fn first_matching_rule_decides_at_its_stage() {
        let rules = vec![
            rule("vip", ListMatch::SenderAddress("Boss@Partner.test".into()), ListAction::Allow),
            rule("partner-spam", ListMatch::SenderDomain("partner.test".into()), ListAction::Discard),
            rule("bad-net", ListMatch::ClientIp("198.51.100.0/24".parse().unwrap()), ListAction::Reject),
        ];
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            list_verdict(&rules, Stage::Mail, other, "boss@partner.test"),
            Verdict::Allow { rule: "vip".into() }
        );
        assert_eq!(
            list_verdict(&rules, Stage::Mail, other, "x@mail.partner.test"),
            Verdict::Discard { rule: "partner-spam".into() }
        );
        assert_eq!(list_verdict(&rules, Stage::Mail, other, "x@notpartner.test"), Verdict::Continue);
        assert!(
            matches!(list_verdict(&rules, Stage::Connect, ip, ""), Verdict::Reject { reply, .. } if reply.code == 554)
        );
        // IP rules are decided at connect, not again at MAIL.
        assert_eq!(list_verdict(&rules, Stage::Mail, ip, "a@b.test"), Verdict::Continue);
    }
}
