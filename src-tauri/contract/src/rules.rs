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

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether `address` meets `condition` (an address, or a domain), any case.
fn meets(condition: Option<&str>, address: &str) -> bool {
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
    /// `auto_bcc` or `daily_send_quota`.
    pub kind: String,
    /// The rule's name.
    pub name: String,
    /// Where it is set (`domain example.com`, `department Sales`, …).
    pub set_in: String,
    /// What it does to this message.
    pub effect: String,
}
