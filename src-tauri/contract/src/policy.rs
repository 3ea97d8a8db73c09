//! The delivery-policy decision: given an envelope and the facts it
//! needs as plain data — the acting account's effective settings, what each recipient is
//! (an external address, an account with its settings, a mail group with its send
//! permission, an alias) — decide allow or deny per recipient and name the rule that
//! decided. Pure: no I/O, no clock, no database. The SMTP service calls [`decide`] on every
//! message; the `explain_policy` operation loads the same facts from the engine and calls
//! it, so the explainer and the server can never disagree.
//!
//! Order of the checks, first refusal wins:
//! 1. a client protocol needs an authenticated user (`authentication_required`);
//! 2. the acting account's switch for that protocol (`client_protocol`);
//! 3. an automatic forward needs the forwarding account's permission (`auto_forward`);
//! 4. per recipient: unknown or disabled local addresses (`unknown_recipient`,
//!    `recipient_disabled`), relaying for strangers (`relay`);
//! 5. the acting account's external-send restriction and its exceptions (by address, then
//!    by domain) for recipients outside its domain;
//! 6. the recipient side: a mail group's send permission, then each receiving account's
//!    external-receive restriction and its exceptions for senders outside its domain.
//!
//! "External" means *another domain than the account's own* (disallowed
//! accounts "can send internal email under the same domain name"), so two domains of one
//! backend are external to each other.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::SendPermission;
use crate::settings::{EffectiveSettings, ResolvedSettings, SettingKey};

/// How a message reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClientProtocol {
    /// From another mail server over SMTP port 25 (inbound; no authentication).
    Mx,
    /// From a mail client: SMTP submission.
    Smtp,
    /// From a mail client over IMAP.
    Imap,
    /// From a mail client over POP3.
    Pop3,
}

impl ClientProtocol {
    /// How a person writes it.
    pub fn label(self) -> &'static str {
        match self {
            ClientProtocol::Mx => "server-to-server SMTP",
            ClientProtocol::Smtp => "SMTP",
            ClientProtocol::Imap => "IMAP",
            ClientProtocol::Pop3 => "POP3",
        }
    }
}

/// The envelope of one message. Addresses are canonical (lower-case, A-label domains).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct Envelope {
    /// MAIL FROM; empty for a bounce (null reverse-path, RFC 5321 §4.5.5).
    pub sender: String,
    /// RCPT TO addresses.
    pub recipients: Vec<String>,
    /// The account that authenticated (AUTH), if any.
    pub authenticated_user: Option<String>,
    /// How the message arrives.
    pub protocol: ClientProtocol,
    /// Whether this is an automatic forward by a mailbox's forwarding rule.
    pub auto_forward: bool,
}

/// A local account and its effective settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AccountFacts {
    /// The account's address.
    pub address: String,
    /// Its effective settings.
    pub settings: ResolvedSettings,
}

/// What a recipient address is, with what the decision needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecipientFacts {
    /// Not one of the backend's domains.
    External,
    /// A local account (or an extra address of one): the account receiving.
    Account {
        /// The receiving account.
        account: AccountFacts,
    },
    /// A local account that is disabled or deleted.
    Disabled,
    /// A mail group.
    Group {
        /// Who may send to it.
        send_permission: SendPermission,
        /// Direct member addresses.
        members: Vec<String>,
        /// Senders allowed for `whitelist`.
        allowed_senders: Vec<String>,
        /// The accounts it delivers to.
        mailboxes: Vec<AccountFacts>,
    },
    /// A distribution alias.
    Alias {
        /// The accounts it delivers to.
        mailboxes: Vec<AccountFacts>,
    },
    /// One of our domains, but no account, alias or group has the address.
    Unknown,
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PolicyInput {
    /// The message's envelope.
    pub envelope: Envelope,
    /// The authenticated user's account, when it is one of ours.
    pub authenticated: Option<AccountFacts>,
    /// The sender's account, when the sender is one of ours.
    pub sender: Option<AccountFacts>,
    /// One entry per envelope recipient, in the same order.
    pub recipients: Vec<RecipientFacts>,
}

/// The rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum PolicyRule {
    /// Nothing restricts this message.
    Allowed,
    /// A mail client must authenticate.
    AuthenticationRequired,
    /// The account's POP3 / IMAP / SMTP service switch is off.
    ClientProtocol,
    /// The mailbox may not forward automatically.
    AutoForward,
    /// No account, alias or group has this address of ours.
    UnknownRecipient,
    /// The receiving account is disabled or deleted.
    RecipientDisabled,
    /// A stranger may not send from outside to outside through us.
    Relay,
    /// The sending account may not send outside its domain.
    ExternalSend,
    /// External send is off, but this address is on the send exceptions.
    SendExceptionAddress,
    /// External send is off, but this domain is on the send exceptions.
    SendExceptionDomain,
    /// The mail group's send permission.
    GroupSendPermission,
    /// The receiving account may not receive from outside its domain.
    ExternalReceive,
    /// External receive is off, but the sender's address is on the receive exceptions.
    ReceiveExceptionAddress,
    /// External receive is off, but the sender's domain is on the receive exceptions.
    ReceiveExceptionDomain,
}

/// The setting that decided: whose, and which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct DecidingSetting {
    /// The account whose effective setting it is.
    pub account: String,
    /// The setting.
    pub key: SettingKey,
}

/// Whether one receiving mailbox of a group or alias gets the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct MailboxDecision {
    /// The receiving account.
    pub address: String,
    /// Whether it receives the message.
    pub allowed: bool,
    /// The rule that decided.
    pub rule: PolicyRule,
    /// The decision in words.
    pub reason: String,
    /// The setting that decided, when a setting did.
    pub setting: Option<DecidingSetting>,
}

/// The decision for one envelope recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct RecipientDecision {
    /// The recipient address.
    pub recipient: String,
    /// Whether the message is accepted for this recipient.
    pub allowed: bool,
    /// The rule that decided.
    pub rule: PolicyRule,
    /// The decision in words.
    pub reason: String,
    /// The setting that decided, when a setting did.
    pub setting: Option<DecidingSetting>,
    /// For groups and aliases: each receiving mailbox.
    pub mailboxes: Vec<MailboxDecision>,
}

/// The decision for a whole message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PolicyDecision {
    /// The local account whose send settings applied (the authenticated user, or the
    /// forwarding mailbox), if any.
    pub acting_account: Option<String>,
    /// One decision per envelope recipient, in envelope order.
    pub recipients: Vec<RecipientDecision>,
}

/// The answer of `explain_policy`: the decision, the envelope as it was decided (defaults
/// filled in) and the effective settings (with their sources) of every account of ours
/// that took part, so each deciding setting can be traced to the level that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct PolicyExplanation {
    /// The envelope decided.
    pub envelope: Envelope,
    /// The decision.
    pub decision: PolicyDecision,
    /// Effective settings of the accounts involved (acting account and receiving mailboxes).
    pub accounts: Vec<EffectiveSettings>,
    /// The mail rules on the path that act on the message, in order: automatic BCC copies,
    /// then the sender's daily send quota (filled by `explain_policy`; empty on the mail path).
    #[serde(default)]
    pub rules: Vec<crate::rules::FiredRule>,
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether `address` is on an exception list, by address or by domain (exact matches).
fn exception(list: &[String], address: &str) -> Option<ExceptionBy> {
    if address.is_empty() {
        return None;
    }
    if list.iter().any(|e| e == address) {
        return Some(ExceptionBy::Address);
    }
    let domain = domain_of(address);
    list.iter().any(|e| !e.contains('@') && e == domain).then_some(ExceptionBy::Domain)
}

#[derive(Clone, Copy)]
enum ExceptionBy {
    Address,
    Domain,
}

#[derive(Clone)]
struct Verdict {
    allowed: bool,
    rule: PolicyRule,
    reason: String,
    setting: Option<DecidingSetting>,
}

impl Verdict {
    fn deny(rule: PolicyRule, reason: String) -> Verdict {
        Verdict { allowed: false, rule, reason, setting: None }
    }
    fn allow(rule: PolicyRule, reason: String) -> Verdict {
        Verdict { allowed: true, rule, reason, setting: None }
    }
    /// Names the setting (of `account`) that decided.
    fn by(mut self, account: &str, key: SettingKey) -> Verdict {
        self.setting = Some(DecidingSetting { account: account.to_string(), key });
        self
    }
}

/// Decides the envelope: allow or deny per recipient, with the rule that decided.
pub fn decide(input: &PolicyInput) -> PolicyDecision {
    let env = &input.envelope;
    // Whose send settings apply: the authenticated account; for an automatic forward
    // the server makes itself, the forwarding mailbox (the envelope sender).
    let acting = input.authenticated.as_ref().or(if env.auto_forward { input.sender.as_ref() } else { None });
    let whole: Option<Verdict> = if env.protocol != ClientProtocol::Mx && env.authenticated_user.is_none() {
        Some(Verdict::deny(
            PolicyRule::AuthenticationRequired,
            format!("mail clients must log in before sending over {}", env.protocol.label()),
        ))
    } else if let Some(a) = acting.filter(|a| !protocol_allowed(&a.settings, env.protocol)) {
        let key = match env.protocol {
            ClientProtocol::Pop3 => SettingKey::Pop3,
            ClientProtocol::Imap => SettingKey::Imap,
            _ => SettingKey::Smtp,
        };
        Some(
            Verdict::deny(
                PolicyRule::ClientProtocol,
                format!("{} access is switched off for {}", env.protocol.label(), a.address),
            )
            .by(&a.address, key),
        )
    } else {
        acting.filter(|a| env.auto_forward && !a.settings.auto_forward).map(|a| {
            Verdict::deny(PolicyRule::AutoForward, format!("{} may not forward mail automatically", a.address))
                .by(&a.address, SettingKey::AutoForward)
        })
    };
    let recipients = env
        .recipients
        .iter()
        .enumerate()
        .map(|(i, rcpt)| {
            let facts = input.recipients.get(i).unwrap_or(&RecipientFacts::Unknown);
            match &whole {
                Some(v) => finish(rcpt, v.clone(), Vec::new()),
                None => recipient(env, acting, rcpt, facts),
            }
        })
        .collect();
    PolicyDecision { acting_account: acting.map(|a| a.address.clone()), recipients }
}

fn finish(rcpt: &str, v: Verdict, mailboxes: Vec<MailboxDecision>) -> RecipientDecision {
    RecipientDecision {
        recipient: rcpt.to_string(),
        allowed: v.allowed,
        rule: v.rule,
        reason: v.reason,
        setting: v.setting,
        mailboxes,
    }
}

fn protocol_allowed(s: &ResolvedSettings, protocol: ClientProtocol) -> bool {
    match protocol {
        ClientProtocol::Mx => true,
        ClientProtocol::Smtp => s.smtp,
        ClientProtocol::Imap => s.imap,
        ClientProtocol::Pop3 => s.pop3,
    }
}

fn recipient(env: &Envelope, acting: Option<&AccountFacts>, rcpt: &str, facts: &RecipientFacts) -> RecipientDecision {
    match facts {
        RecipientFacts::Unknown => {
            let why = format!("no account, alias or group has the address {rcpt}");
            return finish(rcpt, Verdict::deny(PolicyRule::UnknownRecipient, why), Vec::new());
        }
        RecipientFacts::Disabled => {
            let why = format!("{rcpt} is disabled or deleted");
            return finish(rcpt, Verdict::deny(PolicyRule::RecipientDisabled, why), Vec::new());
        }
        RecipientFacts::External if acting.is_none() => {
            let why = format!("{rcpt} is not ours and no account of ours sends this message: relaying is refused");
            return finish(rcpt, Verdict::deny(PolicyRule::Relay, why), Vec::new());
        }
        _ => {}
    }
    // The sending side: the acting account's external-send restriction.
    let mut lifted: Option<Verdict> = None;
    if let Some(a) = acting
        && domain_of(rcpt) != domain_of(&a.address)
        && !a.settings.external_send
    {
        lifted = Some(match exception(&a.settings.send_exceptions, rcpt) {
            None => {
                let why = format!(
                    "{} may only send within {}; {rcpt} is not on its send exceptions",
                    a.address,
                    domain_of(&a.address)
                );
                return finish(
                    rcpt,
                    Verdict::deny(PolicyRule::ExternalSend, why).by(&a.address, SettingKey::ExternalSend),
                    Vec::new(),
                );
            }
            Some(ExceptionBy::Address) => Verdict::allow(
                PolicyRule::SendExceptionAddress,
                format!("{rcpt} is on the send exceptions of {}", a.address),
            )
            .by(&a.address, SettingKey::SendExceptions),
            Some(ExceptionBy::Domain) => Verdict::allow(
                PolicyRule::SendExceptionDomain,
                format!("{} is on the send exceptions of {}", domain_of(rcpt), a.address),
            )
            .by(&a.address, SettingKey::SendExceptions),
        });
    }
    // Accepted on the sending side: say so, naming a send exception if one was needed.
    let accepted = |what: String| match &lifted {
        Some(v) => Verdict { reason: format!("{}; {what}", v.reason), ..v.clone() },
        None => Verdict::allow(PolicyRule::Allowed, what),
    };
    // The receiving side.
    match facts {
        RecipientFacts::External => finish(rcpt, accepted(format!("sent to {rcpt} outside")), Vec::new()),
        RecipientFacts::Account { account } => {
            let v = receive(&env.sender, account);
            let v = if v.allowed && v.rule == PolicyRule::Allowed { accepted(v.reason) } else { v };
            finish(rcpt, v, Vec::new())
        }
        RecipientFacts::Group { send_permission, members, allowed_senders, mailboxes } => {
            match group_permission(&env.sender, rcpt, *send_permission, members, allowed_senders) {
                Some(refused) => finish(rcpt, refused, Vec::new()),
                None => expand(env, rcpt, mailboxes, &accepted),
            }
        }
        RecipientFacts::Alias { mailboxes } => expand(env, rcpt, mailboxes, &accepted),
        RecipientFacts::Unknown | RecipientFacts::Disabled => unreachable!("answered above"),
    }
}

/// A group or alias: each receiving mailbox decides for itself; the recipient is refused
/// only when no mailbox takes the message.
fn expand(
    env: &Envelope,
    rcpt: &str,
    mailboxes: &[AccountFacts],
    accepted: &dyn Fn(String) -> Verdict,
) -> RecipientDecision {
    let decisions: Vec<MailboxDecision> = mailboxes
        .iter()
        .map(|m| {
            let v = receive(&env.sender, m);
            MailboxDecision {
                address: m.address.clone(),
                allowed: v.allowed,
                rule: v.rule,
                reason: v.reason,
                setting: v.setting,
            }
        })
        .collect();
    let taking = decisions.iter().filter(|d| d.allowed).count();
    if taking == 0 && !decisions.is_empty() {
        let first = &decisions[0];
        let v = Verdict {
            allowed: false,
            rule: first.rule,
            reason: format!("no mailbox of {rcpt} may receive it: {}", first.reason),
            setting: first.setting.clone(),
        };
        return finish(rcpt, v, decisions);
    }
    let what = if decisions.is_empty() {
        format!("{rcpt} has no mailboxes to deliver to")
    } else {
        format!("delivered to {taking} of {} mailboxes of {rcpt}", decisions.len())
    };
    finish(rcpt, accepted(what), decisions)
}

/// The receiving account's external-receive restriction.
fn receive(sender: &str, account: &AccountFacts) -> Verdict {
    let s = &account.settings;
    if domain_of(sender) == domain_of(&account.address) || s.external_receive {
        return Verdict::allow(PolicyRule::Allowed, format!("delivered to {}", account.address));
    }
    let from = if sender.is_empty() { "a bounce (empty sender)".to_string() } else { sender.to_string() };
    match exception(&s.receive_exceptions, sender) {
        None => Verdict::deny(
            PolicyRule::ExternalReceive,
            format!(
                "{} may only receive from {}; {from} is not on its receive exceptions",
                account.address,
                domain_of(&account.address)
            ),
        )
        .by(&account.address, SettingKey::ExternalReceive),
        Some(ExceptionBy::Address) => Verdict::allow(
            PolicyRule::ReceiveExceptionAddress,
            format!("{sender} is on the receive exceptions of {}", account.address),
        )
        .by(&account.address, SettingKey::ReceiveExceptions),
        Some(ExceptionBy::Domain) => Verdict::allow(
            PolicyRule::ReceiveExceptionDomain,
            format!("{} is on the receive exceptions of {}", domain_of(sender), account.address),
        )
        .by(&account.address, SettingKey::ReceiveExceptions),
    }
}

/// A mail group's send permission; `None` when the sender may send to it.
fn group_permission(
    sender: &str,
    group: &str,
    permission: SendPermission,
    members: &[String],
    allowed: &[String],
) -> Option<Verdict> {
    let refuse = |why: String| Some(Verdict::deny(PolicyRule::GroupSendPermission, why));
    match permission {
        SendPermission::Anyone => None,
        SendPermission::SameDomain if !sender.is_empty() && domain_of(sender) == domain_of(group) => None,
        SendPermission::SameDomain => refuse(format!("only senders of {} may write to {group}", domain_of(group))),
        SendPermission::MembersOnly if members.iter().any(|m| m == sender) => None,
        SendPermission::MembersOnly => refuse(format!("only members of {group} may write to it")),
        SendPermission::Whitelist if allowed.iter().any(|m| m == sender) => None,
        SendPermission::Whitelist => refuse(format!("{group} accepts mail only from its whitelist")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(f: impl FnOnce(&mut ResolvedSettings)) -> ResolvedSettings {
        let mut s = ResolvedSettings::default();
        f(&mut s);
        s
    }

    fn account(address: &str, f: impl FnOnce(&mut ResolvedSettings)) -> AccountFacts {
        AccountFacts { address: address.into(), settings: settings(f) }
    }

    fn open(address: &str) -> AccountFacts {
        account(address, |_| {})
    }

    fn env(sender: &str, rcpt: &str, auth: Option<&str>, protocol: ClientProtocol) -> Envelope {
        Envelope {
            sender: sender.into(),
            recipients: vec![rcpt.into()],
            authenticated_user: auth.map(String::from),
            protocol,
            auto_forward: false,
        }
    }

    /// One row of the decision table.
    struct Case {
        name: &'static str,
        input: PolicyInput,
        allowed: bool,
        rule: PolicyRule,
        reason: &'static str,
    }

    /// Submission by ann@ours.example (authenticated), with her settings and one recipient.
    fn submit(ann: AccountFacts, rcpt: &str, facts: RecipientFacts) -> PolicyInput {
        PolicyInput {
            envelope: env(&ann.address, rcpt, Some(&ann.address), ClientProtocol::Smtp),
            authenticated: Some(ann.clone()),
            sender: Some(ann),
            recipients: vec![facts],
        }
    }

    /// Inbound from the internet to one recipient.
    fn inbound(sender: &str, rcpt: &str, facts: RecipientFacts) -> PolicyInput {
        PolicyInput {
            envelope: env(sender, rcpt, None, ClientProtocol::Mx),
            authenticated: None,
            sender: None,
            recipients: vec![facts],
        }
    }

    const ANN: &str = "ann@ours.example";

    fn cases() -> Vec<Case> {
        let no_ext_send = |ex: &[&str]| {
            account(ANN, |s| {
                s.external_send = false;
                s.send_exceptions = ex.iter().map(|e| e.to_string()).collect();
            })
        };
        let no_ext_recv = |ex: &[&str]| {
            account("bob@ours.example", |s| {
                s.external_receive = false;
                s.receive_exceptions = ex.iter().map(|e| e.to_string()).collect();
            })
        };
        let bob = |a: AccountFacts| RecipientFacts::Account { account: a };
        let group = |permission, members: &[&str], allowed: &[&str]| RecipientFacts::Group {
            send_permission: permission,
            members: members.iter().map(|m| m.to_string()).collect(),
            allowed_senders: allowed.iter().map(|m| m.to_string()).collect(),
            mailboxes: vec![open("bob@ours.example")],
        };
        let mut auto = submit(open(ANN), "x@far.example", RecipientFacts::External);
        auto.envelope.auto_forward = true;
        auto.authenticated = None;
        auto.envelope.authenticated_user = None;
        auto.envelope.protocol = ClientProtocol::Mx;
        let mut auto_denied = auto.clone();
        auto_denied.sender = Some(account(ANN, |s| s.auto_forward = false));
        let pop3 = |on: bool| {
            let mut i = submit(account(ANN, |s| s.pop3 = on), "bob@ours.example", bob(open("bob@ours.example")));
            i.envelope.protocol = ClientProtocol::Pop3;
            i
        };
        let mut imap_off = submit(account(ANN, |s| s.imap = false), "bob@ours.example", bob(open("bob@ours.example")));
        imap_off.envelope.protocol = ClientProtocol::Imap;
        let mut unauthenticated = submit(open(ANN), "x@far.example", RecipientFacts::External);
        unauthenticated.authenticated = None;
        unauthenticated.envelope.authenticated_user = None;
        vec![
            Case {
                name: "external send allowed by default",
                input: submit(open(ANN), "x@far.example", RecipientFacts::External),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "sent to x@far.example",
            },
            Case {
                name: "external send disallowed",
                input: submit(no_ext_send(&[]), "x@far.example", RecipientFacts::External),
                allowed: false,
                rule: PolicyRule::ExternalSend,
                reason: "may only send within ours.example",
            },
            Case {
                name: "external send disallowed, but the address is an exception",
                input: submit(no_ext_send(&["x@far.example"]), "x@far.example", RecipientFacts::External),
                allowed: true,
                rule: PolicyRule::SendExceptionAddress,
                reason: "x@far.example is on the send exceptions",
            },
            Case {
                name: "external send disallowed, but the domain is an exception",
                input: submit(no_ext_send(&["far.example"]), "x@far.example", RecipientFacts::External),
                allowed: true,
                rule: PolicyRule::SendExceptionDomain,
                reason: "far.example is on the send exceptions",
            },
            Case {
                name: "an address exception covers only that address",
                input: submit(no_ext_send(&["y@far.example"]), "x@far.example", RecipientFacts::External),
                allowed: false,
                rule: PolicyRule::ExternalSend,
                reason: "not on its send exceptions",
            },
            Case {
                name: "a domain exception does not cover its subdomains",
                input: submit(no_ext_send(&["far.example"]), "x@sub.far.example", RecipientFacts::External),
                allowed: false,
                rule: PolicyRule::ExternalSend,
                reason: "not on its send exceptions",
            },
            Case {
                name: "external send disallowed still sends within the domain",
                input: submit(no_ext_send(&[]), "bob@ours.example", bob(open("bob@ours.example"))),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "delivered to bob@ours.example",
            },
            Case {
                name: "another domain of the same backend is external",
                input: submit(no_ext_send(&[]), "cy@sister.example", bob(open("cy@sister.example"))),
                allowed: false,
                rule: PolicyRule::ExternalSend,
                reason: "may only send within ours.example",
            },
            Case {
                name: "external receive allowed by default",
                input: inbound("x@far.example", "bob@ours.example", bob(open("bob@ours.example"))),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "delivered to bob@ours.example",
            },
            Case {
                name: "external receive disallowed",
                input: inbound("x@far.example", "bob@ours.example", bob(no_ext_recv(&[]))),
                allowed: false,
                rule: PolicyRule::ExternalReceive,
                reason: "may only receive from ours.example",
            },
            Case {
                name: "external receive disallowed, sender address is an exception",
                input: inbound("x@far.example", "bob@ours.example", bob(no_ext_recv(&["x@far.example"]))),
                allowed: true,
                rule: PolicyRule::ReceiveExceptionAddress,
                reason: "x@far.example is on the receive exceptions",
            },
            Case {
                name: "external receive disallowed, sender domain is an exception",
                input: inbound("x@far.example", "bob@ours.example", bob(no_ext_recv(&["far.example"]))),
                allowed: true,
                rule: PolicyRule::ReceiveExceptionDomain,
                reason: "far.example is on the receive exceptions",
            },
            Case {
                name: "external receive disallowed refuses bounces too",
                input: inbound("", "bob@ours.example", bob(no_ext_recv(&["far.example"]))),
                allowed: false,
                rule: PolicyRule::ExternalReceive,
                reason: "a bounce (empty sender)",
            },
            Case {
                name: "external receive disallowed still receives from its own domain",
                input: submit(open(ANN), "bob@ours.example", bob(no_ext_recv(&[]))),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "delivered to bob@ours.example",
            },
            Case {
                name: "a send exception does not lift the recipient's receive restriction",
                input: submit(
                    no_ext_send(&["sister.example"]),
                    "cy@sister.example",
                    bob(account("cy@sister.example", |s| s.external_receive = false)),
                ),
                allowed: false,
                rule: PolicyRule::ExternalReceive,
                reason: "may only receive from sister.example",
            },
            Case {
                name: "relaying for strangers is refused",
                input: inbound("x@far.example", "y@elsewhere.example", RecipientFacts::External),
                allowed: false,
                rule: PolicyRule::Relay,
                reason: "relaying is refused",
            },
            Case {
                name: "unknown local recipient",
                input: inbound("x@far.example", "nobody@ours.example", RecipientFacts::Unknown),
                allowed: false,
                rule: PolicyRule::UnknownRecipient,
                reason: "no account, alias or group",
            },
            Case {
                name: "disabled recipient",
                input: inbound("x@far.example", "gone@ours.example", RecipientFacts::Disabled),
                allowed: false,
                rule: PolicyRule::RecipientDisabled,
                reason: "disabled or deleted",
            },
            Case {
                name: "clients must authenticate",
                input: unauthenticated,
                allowed: false,
                rule: PolicyRule::AuthenticationRequired,
                reason: "must log in",
            },
            Case {
                name: "POP3 switched off",
                input: pop3(false),
                allowed: false,
                rule: PolicyRule::ClientProtocol,
                reason: "POP3 access is switched off for ann@ours.example",
            },
            Case { name: "POP3 switched on", input: pop3(true), allowed: true, rule: PolicyRule::Allowed, reason: "" },
            Case {
                name: "IMAP switched off",
                input: imap_off,
                allowed: false,
                rule: PolicyRule::ClientProtocol,
                reason: "IMAP access is switched off",
            },
            Case {
                name: "SMTP switched off",
                input: submit(account(ANN, |s| s.smtp = false), "x@far.example", RecipientFacts::External),
                allowed: false,
                rule: PolicyRule::ClientProtocol,
                reason: "SMTP access is switched off",
            },
            Case {
                name: "auto-forward allowed",
                input: auto,
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "sent to x@far.example",
            },
            Case {
                name: "auto-forward disallowed",
                input: auto_denied,
                allowed: false,
                rule: PolicyRule::AutoForward,
                reason: "may not forward mail automatically",
            },
            Case {
                name: "group: same domain only, outsider refused",
                input: inbound("x@far.example", "team@ours.example", group(SendPermission::SameDomain, &[], &[])),
                allowed: false,
                rule: PolicyRule::GroupSendPermission,
                reason: "only senders of ours.example",
            },
            Case {
                name: "group: same domain only, colleague allowed",
                input: submit(open(ANN), "team@ours.example", group(SendPermission::SameDomain, &[], &[])),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "delivered to 1 of 1 mailboxes",
            },
            Case {
                name: "group: members only, non-member refused",
                input: submit(
                    open(ANN),
                    "team@ours.example",
                    group(SendPermission::MembersOnly, &["bob@ours.example"], &[]),
                ),
                allowed: false,
                rule: PolicyRule::GroupSendPermission,
                reason: "only members",
            },
            Case {
                name: "group: members only, member allowed",
                input: submit(open(ANN), "team@ours.example", group(SendPermission::MembersOnly, &[ANN], &[])),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "",
            },
            Case {
                name: "group: anyone",
                input: inbound("x@far.example", "team@ours.example", group(SendPermission::Anyone, &[], &[])),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "",
            },
            Case {
                name: "group: whitelist, listed sender",
                input: inbound(
                    "x@far.example",
                    "team@ours.example",
                    group(SendPermission::Whitelist, &[], &["x@far.example"]),
                ),
                allowed: true,
                rule: PolicyRule::Allowed,
                reason: "",
            },
            Case {
                name: "group: whitelist, other sender",
                input: inbound(
                    "y@far.example",
                    "team@ours.example",
                    group(SendPermission::Whitelist, &[], &["x@far.example"]),
                ),
                allowed: false,
                rule: PolicyRule::GroupSendPermission,
                reason: "whitelist",
            },
        ]
    }

    #[test]
    fn decision_table() {
        for case in cases() {
            let d = decide(&case.input);
            let r = &d.recipients[0];
            assert_eq!((r.allowed, r.rule), (case.allowed, case.rule), "{}: {}", case.name, r.reason);
            assert!(r.reason.contains(case.reason), "{}: reason {:?} lacks {:?}", case.name, r.reason, case.reason);
        }
    }

    #[test]
    fn every_rule_is_exercised_by_the_table() {
        let seen: std::collections::HashSet<PolicyRule> =
            cases().iter().map(|c| decide(&c.input).recipients[0].rule).collect();
        for rule in [
            PolicyRule::Allowed,
            PolicyRule::AuthenticationRequired,
            PolicyRule::ClientProtocol,
            PolicyRule::AutoForward,
            PolicyRule::UnknownRecipient,
            PolicyRule::RecipientDisabled,
            PolicyRule::Relay,
            PolicyRule::ExternalSend,
            PolicyRule::SendExceptionAddress,
            PolicyRule::SendExceptionDomain,
            PolicyRule::GroupSendPermission,
            PolicyRule::ExternalReceive,
            PolicyRule::ReceiveExceptionAddress,
            PolicyRule::ReceiveExceptionDomain,
        ] {
            assert!(seen.contains(&rule), "no case decides by {rule:?}");
        }
    }

    #[test]
    fn the_deciding_setting_is_named() {
        let key = |c: &Case| decide(&c.input).recipients[0].setting.clone().map(|s| (s.account, s.key));
        let expected = [
            ("external send disallowed", Some((ANN, SettingKey::ExternalSend))),
            ("external send disallowed, but the domain is an exception", Some((ANN, SettingKey::SendExceptions))),
            ("external receive disallowed", Some(("bob@ours.example", SettingKey::ExternalReceive))),
            (
                "external receive disallowed, sender domain is an exception",
                Some(("bob@ours.example", SettingKey::ReceiveExceptions)),
            ),
            ("POP3 switched off", Some((ANN, SettingKey::Pop3))),
            ("IMAP switched off", Some((ANN, SettingKey::Imap))),
            ("SMTP switched off", Some((ANN, SettingKey::Smtp))),
            ("auto-forward disallowed", Some((ANN, SettingKey::AutoForward))),
            ("group: members only, non-member refused", None),
            ("relaying for strangers is refused", None),
            ("external send allowed by default", None),
        ];
        let cases = cases();
        for (name, want) in expected {
            let case = cases.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"));
            assert_eq!(key(case), want.map(|(a, k)| (a.to_string(), k)), "{name}");
        }
    }

    #[test]
    fn each_recipient_is_decided_on_its_own() {
        let ann = account(ANN, |s| {
            s.external_send = false;
            s.send_exceptions = vec!["partner.example".into()];
        });
        let mut input = submit(ann, "bob@ours.example", RecipientFacts::Account { account: open("bob@ours.example") });
        input.envelope.recipients.extend(["x@far.example".to_string(), "y@partner.example".to_string()]);
        input.recipients.extend([RecipientFacts::External, RecipientFacts::External]);
        let d = decide(&input);
        let got: Vec<(bool, PolicyRule)> = d.recipients.iter().map(|r| (r.allowed, r.rule)).collect();
        assert_eq!(
            got,
            [(true, PolicyRule::Allowed), (false, PolicyRule::ExternalSend), (true, PolicyRule::SendExceptionDomain)]
        );
        assert_eq!(d.acting_account.as_deref(), Some(ANN));
    }

    #[test]
    fn groups_and_aliases_report_each_mailbox() {
        let closed = account("carl@ours.example", |s| s.external_receive = false);
        let input = inbound(
            "x@far.example",
            "all@ours.example",
            RecipientFacts::Alias { mailboxes: vec![open("bob@ours.example"), closed.clone()] },
        );
        let r = &decide(&input).recipients[0];
        assert!(r.allowed, "{}", r.reason);
        assert!(r.reason.contains("1 of 2"), "{}", r.reason);
        assert_eq!(
            r.mailboxes.iter().map(|m| (m.address.as_str(), m.allowed)).collect::<Vec<_>>(),
            [("bob@ours.example", true), ("carl@ours.example", false)]
        );
        // When no mailbox may take it, the recipient is refused with the mailbox's rule.
        let input = inbound("x@far.example", "all@ours.example", RecipientFacts::Alias { mailboxes: vec![closed] });
        let r = &decide(&input).recipients[0];
        assert_eq!((r.allowed, r.rule), (false, PolicyRule::ExternalReceive));
    }

    #[test]
    fn the_authenticated_user_acts_even_when_sending_as_another_address() {
        // ann sends as sales@ (an alias): ann's restrictions apply, not the alias's.
        let ann = account(ANN, |s| s.external_send = false);
        let input = PolicyInput {
            envelope: env("sales@ours.example", "x@far.example", Some(ANN), ClientProtocol::Smtp),
            authenticated: Some(ann),
            sender: None,
            recipients: vec![RecipientFacts::External],
        };
        let d = decide(&input);
        assert_eq!((d.recipients[0].rule, d.acting_account.as_deref()), (PolicyRule::ExternalSend, Some(ANN)));
    }
}
