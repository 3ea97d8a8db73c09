//! Mail rules on the path (seed 003): automatic blind copies ("auto BCC").
//!
//! A rule belongs to one domain of ours and fires for a message
//! * **outbound**: sent by an address of its domain (the envelope sender), when the
//!   sender condition matches the sender and the recipient condition matches any recipient;
//! * **inbound**: received for an address of its domain, when the sender condition matches
//!   the sender and the recipient condition matches one of the domain's recipients;
//! * **both**: either.
//!
//! A condition is an address (an account's, an alias's or anyone's) or a domain; none
//! matches everything. Its action: a blind copy to an address — an account, alias or
//! group of ours (delivered into its mailboxes whatever their receive settings), or
//! elsewhere (queued; with an SRS sender when the original sender is not ours). A copy
//! reaches a mailbox once, however many rules fire. Pure: the mail services match with
//! [`BccRule::fires`], the explainer with the same function.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::validate;

/// Most automatic-BCC rules per domain.
pub const MAX_BCC_RULES: u32 = 1000;

/// Which mail a rule looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum RuleDirection {
    /// Mail received for addresses of the rule's domain.
    Inbound,
    /// Mail sent by addresses of the rule's domain.
    Outbound,
    /// Both.
    #[default]
    Both,
}

impl RuleDirection {
    /// Its stored name.
    pub fn name(self) -> &'static str {
        match self {
            RuleDirection::Inbound => "inbound",
            RuleDirection::Outbound => "outbound",
            RuleDirection::Both => "both",
        }
    }
    /// The direction named `name`.
    pub fn parse(name: &str) -> Option<RuleDirection> {
        Some(match name {
            "inbound" => RuleDirection::Inbound,
            "outbound" => RuleDirection::Outbound,
            "both" => RuleDirection::Both,
            _ => return None,
        })
    }
}

/// An automatic blind-copy rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct BccRule {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
    /// The domain it belongs to.
    pub domain: String,
    /// Its name (shown by the explainer).
    pub name: String,
    /// Which mail it looks at.
    pub direction: RuleDirection,
    /// The sender condition (an address or a domain); `None`: any sender.
    pub sender: Option<String>,
    /// The recipient condition (an address or a domain); `None`: any recipient.
    pub recipient: Option<String>,
    /// Where the blind copy goes.
    pub copy_to: String,
}

pub(crate) fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether `address` meets `condition` (an address, or a domain), any case.
pub(crate) fn meets(condition: Option<&str>, address: &str) -> bool {
    match condition {
        None => true,
        Some(c) if c.contains('@') => c.eq_ignore_ascii_case(address),
        Some(c) => c.eq_ignore_ascii_case(domain_of(address)),
    }
}

impl BccRule {
    /// Whether the rule fires for a message from `sender` (empty for the null sender) to
    /// `recipients`.
    pub fn fires(&self, sender: &str, recipients: &[String]) -> bool {
        let sender_ok = meets(self.sender.as_deref(), sender);
        if !sender_ok {
            return false;
        }
        let outbound = self.direction != RuleDirection::Inbound
            && domain_of(sender).eq_ignore_ascii_case(&self.domain)
            && recipients.iter().any(|r| meets(self.recipient.as_deref(), r));
        let inbound = || {
            self.direction != RuleDirection::Outbound
                && recipients
                    .iter()
                    .any(|r| domain_of(r).eq_ignore_ascii_case(&self.domain) && meets(self.recipient.as_deref(), r))
        };
        outbound || inbound()
    }
}

/// A condition as given (`ann@example.com`, `example.org` or `@example.org`) in its
/// canonical form; empty → none.
pub fn condition(field: &str, input: Option<&str>) -> Result<Option<String>> {
    let Some(t) = input.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    let named = |e: Error| Error { message: format!("{} ('{t}')", e.message), ..e }.with_field(field);
    match t.strip_prefix('@') {
        Some(d) => validate::domain(d).map(Some).map_err(named),
        None if t.contains('@') => validate::address(t).map(|a| Some(a.full())).map_err(named),
        None => validate::domain(t).map(Some).map_err(named),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: RuleDirection, sender: Option<&str>, recipient: Option<&str>) -> BccRule {
        BccRule {
            id: 1,
            domain: "example.com".into(),
            name: "r".into(),
            direction,
            sender: sender.map(Into::into),
            recipient: recipient.map(Into::into),
            copy_to: "archive@example.com".into(),
        }
    }

    fn to(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn directions_and_conditions_each_way() {
        let out = rule(RuleDirection::Outbound, None, None);
        assert!(out.fires("ann@example.com", &to(&["x@remote.test"])));
        assert!(!out.fires("pat@remote.test", &to(&["ann@example.com"])), "inbound mail is not outbound");
        let inb = rule(RuleDirection::Inbound, None, None);
        assert!(inb.fires("pat@remote.test", &to(&["ann@example.com"])));
        assert!(!inb.fires("ann@example.com", &to(&["x@remote.test"])), "outbound mail is not inbound");
        let both = rule(RuleDirection::Both, None, None);
        assert!(both.fires("ann@example.com", &to(&["x@remote.test"])));
        assert!(both.fires("pat@remote.test", &to(&["ann@example.com"])));
        assert!(!both.fires("pat@remote.test", &to(&["x@other.test"])), "neither side is the domain's");

        let by_sender = rule(RuleDirection::Both, Some("ann@example.com"), None);
        assert!(by_sender.fires("ANN@example.com", &to(&["x@remote.test"])));
        assert!(!by_sender.fires("bob@example.com", &to(&["x@remote.test"])));
        let by_sender_domain = rule(RuleDirection::Inbound, Some("remote.test"), None);
        assert!(by_sender_domain.fires("pat@remote.test", &to(&["ann@example.com"])));
        assert!(!by_sender_domain.fires("pat@other.test", &to(&["ann@example.com"])));
        let by_recipient = rule(RuleDirection::Inbound, None, Some("bob@example.com"));
        assert!(by_recipient.fires("pat@remote.test", &to(&["ann@example.com", "bob@example.com"])));
        assert!(!by_recipient.fires("pat@remote.test", &to(&["ann@example.com"])));
        let by_recipient_domain = rule(RuleDirection::Outbound, None, Some("remote.test"));
        assert!(by_recipient_domain.fires("ann@example.com", &to(&["x@remote.test"])));
        assert!(!by_recipient_domain.fires("ann@example.com", &to(&["x@other.test"])));
    }

    #[test]
    fn conditions_are_canonical_or_refused() {
        assert_eq!(condition("sender", Some(" @Remote.TEST ")).unwrap().as_deref(), Some("remote.test"));
        assert_eq!(condition("sender", Some("Ann@Example.com")).unwrap().as_deref(), Some("ann@example.com"));
        assert_eq!(condition("sender", Some("")).unwrap(), None);
        let e = condition("recipient", Some("not a domain")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("recipient"));
    }
}

/// Where an account stands against its daily send quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum QuotaState {
    /// No limit set.
    Unlimited,
    /// Below 80 % of both limits.
    Ok,
    /// At 80 % of a limit or more.
    Near,
    /// A limit reached: mail to other domains is refused until the next day.
    Over,
}

/// What one account sent to other domains: today (in its domain's time zone) and in the
/// last 30 days, against its daily limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OutboundUsage {
    /// The account.
    pub address: String,
    /// Messages today.
    pub today_messages: u64,
    /// Bytes today.
    #[ts(type = "number")]
    pub today_bytes: u64,
    /// Messages in the last 30 days (today included).
    pub month_messages: u64,
    /// Bytes in the last 30 days.
    #[ts(type = "number")]
    pub month_bytes: u64,
    /// The daily message limit in force (0: none).
    pub limit_messages: u32,
    /// The daily size limit in force, in MB (0: none).
    pub limit_mb: u32,
    /// Where it stands.
    pub state: QuotaState,
}

/// Where `messages` and `bytes` sent today stand against the limits (0: none).
pub fn quota_state(messages: u64, bytes: u64, limit_messages: u32, limit_mb: u32) -> QuotaState {
    let limit_bytes = u64::from(limit_mb) * 1024 * 1024;
    if limit_messages == 0 && limit_mb == 0 {
        return QuotaState::Unlimited;
    }
    let over = (limit_messages > 0 && messages >= u64::from(limit_messages)) || (limit_mb > 0 && bytes >= limit_bytes);
    let near = (limit_messages > 0 && messages * 5 >= u64::from(limit_messages) * 4)
        || (limit_mb > 0 && bytes * 5 >= limit_bytes * 4);
    if over {
        QuotaState::Over
    } else if near {
        QuotaState::Near
    } else {
        QuotaState::Ok
    }
}

#[cfg(test)]
mod quota_tests {
    use super::*;

    #[test]
    fn the_state_follows_either_limit() {
        assert_eq!(quota_state(100, 0, 0, 0), QuotaState::Unlimited);
        assert_eq!(quota_state(3, 0, 10, 0), QuotaState::Ok);
        assert_eq!(quota_state(8, 0, 10, 0), QuotaState::Near);
        assert_eq!(quota_state(10, 0, 10, 0), QuotaState::Over);
        assert_eq!(quota_state(1, 1024 * 1024, 10, 1), QuotaState::Over, "the size limit alone");
        assert_eq!(quota_state(1, 900 * 1024, 10, 1), QuotaState::Near);
    }
}

/// A mail rule on the path that acts on a message, as the policy explainer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct FiredRule {
    /// `auto_bcc`, `disclaimer`, `monitor`, `forwarding` or `daily_send_quota`.
    pub kind: String,
    /// The rule's name.
    pub name: String,
    /// Where it is set (`domain example.com`, `department Sales`, …).
    pub set_in: String,
    /// What it does to this message.
    pub effect: String,
}

// ---- disclaimers -------------------------------------------------------------------------

/// Most disclaimer rules per domain.
pub const MAX_DISCLAIMER_RULES: u32 = 100;
/// Longest plain-text or HTML variant of a disclaimer, in bytes.
pub const MAX_DISCLAIMER_TEXT: usize = 16 * 1024;
/// The header that marks a message as stamped (so a message passing twice is stamped once).
pub const DISCLAIMER_HEADER: &str = "X-Postdesk-Disclaimer";

/// Which recipients a disclaimer rule looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum DisclaimerScope {
    /// Any message the domain's users send.
    #[default]
    Any,
    /// Only when every recipient is in one of our domains.
    Internal,
    /// Only when at least one recipient is outside our domains.
    External,
}

impl DisclaimerScope {
    /// Its stored name.
    pub fn name(self) -> &'static str {
        match self {
            DisclaimerScope::Any => "any",
            DisclaimerScope::Internal => "internal",
            DisclaimerScope::External => "external",
        }
    }
    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<DisclaimerScope> {
        Some(match name {
            "any" => DisclaimerScope::Any,
            "internal" => DisclaimerScope::Internal,
            "external" => DisclaimerScope::External,
            _ => return None,
        })
    }
}

/// A disclaimer rule: text appended to the body of mail the domain's users send (submitted
/// with a sender address of the domain), when its conditions hold and no exception does.
/// The rules of a domain are tried in `position` order; the first that fires is the one
/// applied, once per message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DisclaimerRule {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
    /// The domain it belongs to.
    pub domain: String,
    /// Its place in the domain's order, 1 = tried first.
    pub position: u32,
    /// Its name (shown by the explainer).
    pub name: String,
    /// Internal, external or any recipients.
    pub scope: DisclaimerScope,
    /// The sender condition (an address or a domain); `None`: any sender of the domain.
    pub sender: Option<String>,
    /// The recipient condition (an address or a domain, met by any recipient); `None`: any.
    pub recipient: Option<String>,
    /// The sending account's department (a path; its sub-departments included); `None`: any.
    pub department: Option<String>,
    /// Exception: not applied when the sender meets this (an address or a domain).
    pub except_sender: Option<String>,
    /// Exception: not applied when any recipient meets this (an address or a domain).
    pub except_recipient: Option<String>,
    /// Exception: not applied when the sending account is in this department (or below).
    pub except_department: Option<String>,
    /// The plain-text variant (appended to text/plain parts).
    pub text: String,
    /// The HTML variant (inserted before `</body>` of text/html parts); `None`: the plain
    /// text, escaped, line breaks as `<br>`.
    pub html: Option<String>,
}

/// Whether the department path `of` is `condition` or below it, any case.
pub fn in_department(condition: &str, of: Option<&str>) -> bool {
    let Some(of) = of else { return false };
    let (c, o) = (condition.to_lowercase(), of.to_lowercase());
    o == c || o.strip_prefix(&c).is_some_and(|rest| rest.starts_with('/'))
}

/// What a disclaimer rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct DisclaimerFacts<'a> {
    /// The envelope sender.
    pub sender: &'a str,
    /// The recipients.
    pub recipients: &'a [String],
    /// Whether any recipient is outside our domains.
    pub any_external: bool,
    /// The sending account's department path, if it is an account in one.
    pub department: Option<&'a str>,
}

impl DisclaimerRule {
    /// Whether the rule fires for a message submitted with `facts`.
    pub fn fires(&self, facts: &DisclaimerFacts<'_>) -> bool {
        if !domain_of(facts.sender).eq_ignore_ascii_case(&self.domain) {
            return false;
        }
        let scope_ok = match self.scope {
            DisclaimerScope::Any => true,
            DisclaimerScope::Internal => !facts.any_external,
            DisclaimerScope::External => facts.any_external,
        };
        let conditions = scope_ok
            && meets(self.sender.as_deref(), facts.sender)
            && facts.recipients.iter().any(|r| meets(self.recipient.as_deref(), r))
            && self.department.as_deref().is_none_or(|d| in_department(d, facts.department));
        let excepted = self.except_sender.as_deref().is_some_and(|c| meets(Some(c), facts.sender))
            || self.except_recipient.as_deref().is_some_and(|c| facts.recipients.iter().any(|r| meets(Some(c), r)))
            || self.except_department.as_deref().is_some_and(|d| in_department(d, facts.department));
        conditions && !excepted
    }

    /// The HTML variant: the one given, else the plain text escaped with `<br>` line breaks.
    pub fn html_variant(&self) -> String {
        match &self.html {
            Some(h) => h.clone(),
            None => {
                let escaped = self
                    .text
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace("\r\n", "\n");
                format!("<div class=\"disclaimer\">{}</div>", escaped.replace('\n', "<br>\n"))
            }
        }
    }

    /// The rule in one sentence (for the explainer).
    pub fn describe(&self) -> String {
        let mut s = format!("appends the disclaimer '{}'", self.name);
        let scope = match self.scope {
            DisclaimerScope::Any => "",
            DisclaimerScope::Internal => " to mail only for our domains",
            DisclaimerScope::External => " to mail for other domains",
        };
        s.push_str(scope);
        s
    }
}

/// The first rule (in position order) that fires, if any.
pub fn first_disclaimer<'a>(rules: &'a [DisclaimerRule], facts: &DisclaimerFacts<'_>) -> Option<&'a DisclaimerRule> {
    rules.iter().filter(|r| r.fires(facts)).min_by_key(|r| (r.position, r.id))
}

#[cfg(test)]
mod disclaimer_tests {
    use super::*;

    fn rule() -> DisclaimerRule {
        DisclaimerRule {
            id: 1,
            domain: "example.com".into(),
            position: 1,
            name: "legal".into(),
            scope: DisclaimerScope::Any,
            sender: None,
            recipient: None,
            department: None,
            except_sender: None,
            except_recipient: None,
            except_department: None,
            text: "Confidential.".into(),
            html: None,
        }
    }

    fn facts<'a>(sender: &'a str, to: &'a [String], external: bool, dept: Option<&'a str>) -> DisclaimerFacts<'a> {
        DisclaimerFacts { sender, recipients: to, any_external: external, department: dept }
    }

    #[test]
    fn conditions_and_exceptions_each_way() {
        let far = vec!["x@far.test".to_string()];
        let near = vec!["bob@example.com".to_string()];
        let r = rule();
        assert!(r.fires(&facts("ann@example.com", &far, true, None)));
        assert!(!r.fires(&facts("pat@far.test", &near, false, None)), "only the domain's senders");
        let ext = DisclaimerRule { scope: DisclaimerScope::External, ..rule() };
        assert!(ext.fires(&facts("ann@example.com", &far, true, None)));
        assert!(!ext.fires(&facts("ann@example.com", &near, false, None)));
        let int = DisclaimerRule { scope: DisclaimerScope::Internal, ..rule() };
        assert!(int.fires(&facts("ann@example.com", &near, false, None)));
        assert!(!int.fires(&facts("ann@example.com", &far, true, None)));
        let by_sender = DisclaimerRule { sender: Some("ann@example.com".into()), ..rule() };
        assert!(by_sender.fires(&facts("ANN@example.com", &far, true, None)));
        assert!(!by_sender.fires(&facts("bob@example.com", &far, true, None)));
        let by_rcpt = DisclaimerRule { recipient: Some("far.test".into()), ..rule() };
        assert!(by_rcpt.fires(&facts("ann@example.com", &far, true, None)));
        assert!(!by_rcpt.fires(&facts("ann@example.com", &near, false, None)));
        let by_dept = DisclaimerRule { department: Some("Sales".into()), ..rule() };
        assert!(by_dept.fires(&facts("ann@example.com", &far, true, Some("sales/EMEA"))));
        assert!(!by_dept.fires(&facts("ann@example.com", &far, true, Some("Salesforce"))));
        assert!(!by_dept.fires(&facts("ann@example.com", &far, true, None)));
        let except_sender = DisclaimerRule { except_sender: Some("ann@example.com".into()), ..rule() };
        assert!(!except_sender.fires(&facts("ann@example.com", &far, true, None)));
        assert!(except_sender.fires(&facts("bob@example.com", &far, true, None)));
        let except_rcpt = DisclaimerRule { except_recipient: Some("far.test".into()), ..rule() };
        assert!(!except_rcpt.fires(&facts("ann@example.com", &far, true, None)));
        assert!(except_rcpt.fires(&facts("ann@example.com", &near, false, None)));
        let except_dept = DisclaimerRule { except_department: Some("Legal".into()), ..rule() };
        assert!(!except_dept.fires(&facts("ann@example.com", &far, true, Some("Legal"))));
        assert!(except_dept.fires(&facts("ann@example.com", &far, true, Some("Sales"))));
    }

    #[test]
    fn the_first_by_position_wins_and_html_defaults_to_escaped_text() {
        let far = vec!["x@far.test".to_string()];
        let rules = vec![
            DisclaimerRule { id: 1, position: 2, name: "second".into(), ..rule() },
            DisclaimerRule { id: 2, position: 1, name: "first".into(), ..rule() },
        ];
        assert_eq!(first_disclaimer(&rules, &facts("ann@example.com", &far, true, None)).unwrap().name, "first");
        let r = DisclaimerRule { text: "a < b\nc".into(), ..rule() };
        assert_eq!(r.html_variant(), "<div class=\"disclaimer\">a &lt; b<br>\nc</div>");
    }
}
