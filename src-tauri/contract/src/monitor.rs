//! Monitoring and copy rules (seed 004): per domain, each rule watches the mail of a scope
//! of the domain's people — everyone, a department (and below) or one account — and, when
//! its conditions hold and no exception does, either copies the message to a monitor
//! mailbox of ours or files the watched recipients' copies into a folder.
//!
//! A rule fires for a message when a party of it (the envelope sender, or a recipient) is
//! in its scope, and
//! * its traffic matches: `internal` — the sender and every recipient are in our domains;
//!   `external` — the sender or a recipient is elsewhere; `any`;
//! * the sender condition meets the sender, the recipient condition meets a recipient
//!   (each an address or a domain, none = any);
//! * the message is at least `min_size_kb` KiB, when set;
//! * the keyword, when set, is in the subject or the body text (any case);
//!
//! and no exception (sender, recipient, keyword, of the same kinds) holds. Every rule that
//! fires acts (a monitor mailbox gets one copy however many rules name it). Pure: the mail
//! path matches with [`MonitorRule::fires`], the explainer with [`MonitorRule::may_fire`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rules::{domain_of, in_department, meets};

/// Most monitoring rules per domain.
pub const MAX_MONITOR_RULES: u32 = 100;
/// Longest keyword, in characters.
pub const MAX_KEYWORD: usize = 200;
/// How much of a message's text (subject and body) a keyword is looked for in, in bytes.
pub const KEYWORD_SCAN_BYTES: usize = 1024 * 1024;

/// Which mail a monitoring rule looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum MonitorTraffic {
    /// Any message.
    #[default]
    Any,
    /// Only mail between our own domains (sender and every recipient).
    Internal,
    /// Only mail to or from elsewhere (the sender or a recipient).
    External,
}

impl MonitorTraffic {
    /// Its stored name.
    pub fn name(self) -> &'static str {
        match self {
            MonitorTraffic::Any => "any",
            MonitorTraffic::Internal => "internal",
            MonitorTraffic::External => "external",
        }
    }
    /// The traffic named `name`.
    pub fn parse(name: &str) -> Option<MonitorTraffic> {
        Some(match name {
            "any" => MonitorTraffic::Any,
            "internal" => MonitorTraffic::Internal,
            "external" => MonitorTraffic::External,
            _ => return None,
        })
    }
}

/// What a monitoring rule does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum MonitorAction {
    /// A copy into the monitor mailbox `target` (an address of ours).
    #[default]
    Copy,
    /// The watched recipients' copies filed into their folder `target` instead of the INBOX.
    Folder,
}

impl MonitorAction {
    /// Its stored name.
    pub fn name(self) -> &'static str {
        match self {
            MonitorAction::Copy => "copy",
            MonitorAction::Folder => "folder",
        }
    }
    /// The action named `name`.
    pub fn parse(name: &str) -> Option<MonitorAction> {
        Some(match name {
            "copy" => MonitorAction::Copy,
            "folder" => MonitorAction::Folder,
            _ => return None,
        })
    }
}

/// A monitoring or copy rule of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct MonitorRule {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
    /// The domain it belongs to (its scope is this domain's people).
    pub domain: String,
    /// Its name (shown by the explainer).
    pub name: String,
    /// Scope: a department path (sub-departments included); with `scope_account` `None`
    /// too, everyone of the domain.
    pub scope_department: Option<String>,
    /// Scope: one account's address.
    pub scope_account: Option<String>,
    /// Internal, external or any mail.
    pub traffic: MonitorTraffic,
    /// The sender condition (an address or a domain); `None`: any.
    pub sender: Option<String>,
    /// The recipient condition (an address or a domain, met by any recipient); `None`: any.
    pub recipient: Option<String>,
    /// Only messages of at least this many KiB.
    pub min_size_kb: Option<u32>,
    /// Only messages whose subject or body contains this (any case).
    pub keyword: Option<String>,
    /// Exception: not when the sender meets this.
    pub except_sender: Option<String>,
    /// Exception: not when any recipient meets this.
    pub except_recipient: Option<String>,
    /// Exception: not when the subject or body contains this (any case).
    pub except_keyword: Option<String>,
    /// Copy to a monitor mailbox, or file into a folder.
    pub action: MonitorAction,
    /// The monitor mailbox's address (copy) or the folder's name (folder).
    pub target: String,
}

/// What a monitoring rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct MonitorFacts<'a> {
    /// The envelope sender (lower case).
    pub sender: &'a str,
    /// The recipients (lower case).
    pub recipients: &'a [String],
    /// Whether the sender or any recipient is outside our domains.
    pub any_external: bool,
    /// The message's size in bytes.
    pub size: u64,
    /// Its subject and body text, lower case (at most [`KEYWORD_SCAN_BYTES`]).
    pub text: &'a str,
}

/// Who a party of a message is, for a rule's scope.
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    /// Its address (lower case; an account's own address for a mailbox).
    pub address: &'a str,
    /// Its account's department path, if it is an account in one.
    pub department: Option<&'a str>,
}

impl MonitorRule {
    /// Whether `party` is in the rule's scope.
    pub fn covers(&self, party: &Party<'_>) -> bool {
        if !domain_of(party.address).eq_ignore_ascii_case(&self.domain) {
            return false;
        }
        self.scope_account.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(party.address))
            && self.scope_department.as_deref().is_none_or(|d| in_department(d, party.department))
    }

    /// Whether the conditions other than the scope hold and no exception does, with the
    /// size and text conditions judged by `size_ok` and `has` (the explainer has no message).
    fn judged(&self, facts: &MonitorFacts<'_>, size_ok: bool, has: impl Fn(&str) -> Option<bool>) -> bool {
        let traffic = match self.traffic {
            MonitorTraffic::Any => true,
            MonitorTraffic::Internal => !facts.any_external,
            MonitorTraffic::External => facts.any_external,
        };
        let conditions = traffic
            && size_ok
            && meets(self.sender.as_deref(), facts.sender)
            && facts.recipients.iter().any(|r| meets(self.recipient.as_deref(), r))
            && self.keyword.as_deref().is_none_or(|k| has(k).unwrap_or(true));
        let excepted = self.except_sender.as_deref().is_some_and(|c| meets(Some(c), facts.sender))
            || self.except_recipient.as_deref().is_some_and(|c| facts.recipients.iter().any(|r| meets(Some(c), r)))
            || self.except_keyword.as_deref().is_some_and(|k| has(k).unwrap_or(false));
        conditions && !excepted
    }

    /// Whether the rule fires for a message with `facts` whose parties are `parties` (the
    /// sender first, then the recipients' mailboxes).
    pub fn fires(&self, facts: &MonitorFacts<'_>, parties: &[Party<'_>]) -> bool {
        let size_ok = self.min_size_kb.is_none_or(|kb| facts.size >= u64::from(kb) * 1024);
        parties.iter().any(|p| self.covers(p))
            && self.judged(facts, size_ok, |k| Some(facts.text.contains(&k.to_lowercase())))
    }

    /// Whether the rule may fire for a message with these parties, not knowing its size or
    /// text (the explainer): everything else holds.
    pub fn may_fire(&self, facts: &MonitorFacts<'_>, parties: &[Party<'_>]) -> bool {
        parties.iter().any(|p| self.covers(p)) && self.judged(facts, true, |_| None)
    }

    /// The conditions the explainer cannot judge without the message, in words.
    pub fn unknowns(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(kb) = self.min_size_kb {
            v.push(format!("if it is at least {kb} KB"));
        }
        if let Some(k) = &self.keyword {
            v.push(format!("if its subject or text says '{k}'"));
        }
        if let Some(k) = &self.except_keyword {
            v.push(format!("unless its subject or text says '{k}'"));
        }
        v
    }

    /// The rule's action in words.
    pub fn effect(&self) -> String {
        match self.action {
            MonitorAction::Copy => format!("a copy to the monitor mailbox {}", self.target),
            MonitorAction::Folder => {
                format!("the watched recipients' copies filed into their folder '{}'", self.target)
            }
        }
    }

    /// The rule's scope in words.
    pub fn scope_text(&self) -> String {
        match (&self.scope_account, &self.scope_department) {
            (Some(a), _) => format!("account {a}"),
            (None, Some(d)) => format!("department {d} of {}", self.domain),
            (None, None) => format!("everyone of {}", self.domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> MonitorRule {
        MonitorRule {
            id: 1,
            domain: "example.com".into(),
            name: "watch".into(),
            scope_department: None,
            scope_account: None,
            traffic: MonitorTraffic::Any,
            sender: None,
            recipient: None,
            min_size_kb: None,
            keyword: None,
            except_sender: None,
            except_recipient: None,
            except_keyword: None,
            action: MonitorAction::Copy,
            target: "monitor@example.com".into(),
        }
    }

    fn facts<'a>(sender: &'a str, to: &'a [String], external: bool, size: u64, text: &'a str) -> MonitorFacts<'a> {
        MonitorFacts { sender, recipients: to, any_external: external, size, text }
    }

    #[test]
    fn scope_is_the_domains_people_a_department_or_one_account() {
        let to = vec!["x@far.test".to_string()];
        let f = facts("ann@example.com", &to, true, 10, "");
        let ann = Party { address: "ann@example.com", department: Some("Sales/East") };
        let far = Party { address: "x@far.test", department: None };
        assert!(rule().fires(&f, &[ann, far]));
        assert!(!rule().fires(&f, &[far]), "nobody of the domain takes part");
        let sales = MonitorRule { scope_department: Some("sales".into()), ..rule() };
        assert!(sales.fires(&f, &[ann]), "sub-departments are in");
        let legal = MonitorRule { scope_department: Some("Legal".into()), ..rule() };
        assert!(!legal.fires(&f, &[ann]));
        let bob = MonitorRule { scope_account: Some("bob@example.com".into()), ..rule() };
        assert!(!bob.fires(&f, &[ann]));
        assert!(MonitorRule { scope_account: Some("ANN@example.com".into()), ..rule() }.fires(&f, &[ann]));
    }

    #[test]
    fn conditions_and_exceptions_each_way() {
        let far = vec!["x@far.test".to_string()];
        let near = vec!["bob@example.com".to_string()];
        let ann = Party { address: "ann@example.com", department: None };
        let out = facts("ann@example.com", &far, true, 4096, "quarterly numbers attached");
        let inside = facts("ann@example.com", &near, false, 100, "lunch?");
        let ext = MonitorRule { traffic: MonitorTraffic::External, ..rule() };
        assert!(ext.fires(&out, &[ann]) && !ext.fires(&inside, &[ann]));
        let int = MonitorRule { traffic: MonitorTraffic::Internal, ..rule() };
        assert!(!int.fires(&out, &[ann]) && int.fires(&inside, &[ann]));
        let size = MonitorRule { min_size_kb: Some(4), ..rule() };
        assert!(size.fires(&out, &[ann]) && !size.fires(&inside, &[ann]));
        let word = MonitorRule { keyword: Some("Quarterly".into()), ..rule() };
        assert!(word.fires(&out, &[ann]) && !word.fires(&inside, &[ann]));
        let to_far = MonitorRule { recipient: Some("far.test".into()), ..rule() };
        assert!(to_far.fires(&out, &[ann]) && !to_far.fires(&inside, &[ann]));
        let from_bob = MonitorRule { sender: Some("bob@example.com".into()), ..rule() };
        assert!(!from_bob.fires(&out, &[ann]));
        let no_far = MonitorRule { except_recipient: Some("far.test".into()), ..rule() };
        assert!(!no_far.fires(&out, &[ann]) && no_far.fires(&inside, &[ann]));
        let no_ann = MonitorRule { except_sender: Some("ann@example.com".into()), ..rule() };
        assert!(!no_ann.fires(&out, &[ann]));
        let no_lunch = MonitorRule { except_keyword: Some("LUNCH".into()), ..rule() };
        assert!(no_lunch.fires(&out, &[ann]) && !no_lunch.fires(&inside, &[ann]));
    }

    #[test]
    fn the_explainer_judges_what_it_can_and_names_the_rest() {
        let far = vec!["x@far.test".to_string()];
        let ann = Party { address: "ann@example.com", department: None };
        let f = facts("ann@example.com", &far, true, 0, "");
        let r = MonitorRule { keyword: Some("invoice".into()), min_size_kb: Some(10), ..rule() };
        assert!(r.may_fire(&f, &[ann]) && !r.fires(&f, &[ann]));
        assert_eq!(r.unknowns(), vec!["if it is at least 10 KB", "if its subject or text says 'invoice'"]);
        let except = MonitorRule { except_keyword: Some("x".into()), ..rule() };
        assert!(except.may_fire(&f, &[ann]), "an exception it cannot judge does not hide the rule");
        let int = MonitorRule { traffic: MonitorTraffic::Internal, ..rule() };
        assert!(!int.may_fire(&f, &[ann]));
    }
}
