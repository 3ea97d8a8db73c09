//! The SMTP service's admin data: server-wide settings, the black/white
//! list rules, and the live status the running mail server reports.
//!
//! Plain data, no database and no dependency on `postdesk-smtp`: the engine stores settings
//! and rules (engine/smtp.rs), `postdesk-mailserver` turns them into an `SmtpProfile` and
//! reports its counters back through [`MailServiceMonitor`].
//!
//! Units: sizes in bytes, timeouts and windows in whole seconds. The defaults are the
//! values of `postdesk_smtp::SmtpProfile::default()` (mirrored here, since core does not
//! depend on the SMTP crate; `postdesk-mailserver` has the test that the two agree).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Smallest message size limit an admin may set (1 KiB).
pub const MIN_MESSAGE_BYTES: u64 = 1024;
/// Largest message size limit an admin may set (1 GiB).
pub const MAX_MESSAGE_BYTES: u64 = 1024 * 1024 * 1024;
/// Most recipients per message an admin may allow.
pub const MAX_RECIPIENTS: u32 = 10_000;
/// Shortest command or data timeout, seconds.
pub const MIN_TIMEOUT_SECS: u32 = 10;
/// Longest command or data timeout, seconds (one hour).
pub const MAX_TIMEOUT_SECS: u32 = 3600;
/// Most black/white list rules the server keeps.
pub const MAX_RULES: usize = 5000;

/// Server-wide SMTP settings: every part of the SMTP profile except the black/white lists
/// (those are [`SmtpRule`]s). One per backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Our host name: greeting, EHLO reply, Received `by` (default `localhost`).
    pub hostname: String,
    /// Text after `220 <hostname> ` in the greeting (default `ESMTP Postdesk`).
    pub banner: String,
    /// Largest message accepted, bytes as received (advertised as SIZE); 1 KiB to 1 GiB,
    /// default 25 MiB (26214400).
    #[ts(type = "number")]
    pub max_message_bytes: u64,
    /// Most recipients per message, 1–10000 (default 100).
    pub max_recipients: u32,
    /// Seconds to wait for each command line, 10–3600 (default 300).
    pub command_timeout_secs: u32,
    /// Seconds to wait for each read of message data, 10–3600 (default 180).
    pub data_timeout_secs: u32,
    /// Bad commands tolerated before 421 and disconnect, 1–1000 (default 10).
    pub max_errors: u32,
    /// Failed AUTH attempts tolerated per connection, 1–100 (default 3).
    pub max_auth_failures: u32,
    /// Offer AUTH on connections without TLS (default false).
    pub allow_auth_without_tls: bool,
    /// An authenticated sender must use one of its own addresses (default true).
    pub require_sender_match: bool,
    /// Connections served at once over all listeners, 1–100000 (default 1024).
    pub max_connections: u32,
    /// Limits per client address and reverse DNS.
    pub connection: SmtpConnectionPolicy,
    /// The slow-down and drop of sessions guessing recipients (applied live).
    pub probing: SmtpProbingPolicy,
    /// Message data held while it arrives (applied when the mail service starts).
    pub data: SmtpDataLimits,
    /// Checks of the envelope sender at MAIL FROM.
    pub sender: SmtpSenderPolicy,
    /// Inbound SPF/DKIM/DMARC.
    pub inbound_auth: SmtpInboundAuth,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            hostname: "localhost".into(),
            banner: "ESMTP Postdesk".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            command_timeout_secs: 300,
            data_timeout_secs: 180,
            max_errors: 10,
            max_auth_failures: 3,
            allow_auth_without_tls: false,
            require_sender_match: true,
            max_connections: 1024,
            connection: SmtpConnectionPolicy::default(),
            probing: SmtpProbingPolicy::default(),
            data: SmtpDataLimits::default(),
            sender: SmtpSenderPolicy::default(),
            inbound_auth: SmtpInboundAuth::default(),
        }
    }
}

/// Limits per client address and the reverse-DNS requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConnectionPolicy {
    /// Concurrent connections per client IP, 1–10000 (default 20, well below the
    /// connections at once, so one address cannot take them all); `null` = no limit.
    pub max_connections_per_ip: Option<u32>,
    /// Messages per client IP per time window; `null` = no limit (the default).
    pub messages_per_ip: Option<SmtpRateLimit>,
    /// Refuse MX clients without matching reverse DNS (default false).
    pub require_reverse_dns: bool,
}

impl Default for SmtpConnectionPolicy {
    fn default() -> Self {
        SmtpConnectionPolicy {
            max_connections_per_ip: Some(DEFAULT_MAX_CONNECTIONS_PER_IP),
            messages_per_ip: None,
            require_reverse_dns: false,
        }
    }
}

/// Recipient probing (RFC 5321 §3.5.3, §7.3: answering 550 to unknown recipients lets a
/// client harvest addresses): from `slow_after` unknown recipients in one session on, each
/// further RCPT is answered after `delay_step_secs` × how far past it the session is; at
/// `max_unknown` the session is dropped with 421 4.7.0 and the client address refused at
/// connect for `penalty_secs`. Applied live: new sessions and open ones from their next
/// MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpProbingPolicy {
    /// Unknown recipients before each further RCPT is delayed, 1–1000 (default 3); at most
    /// `max_unknown`.
    pub slow_after: u32,
    /// Seconds the first delayed RCPT waits, the k-th k times as long, 0–60 (default 1;
    /// 0 = no slow-down, only the drop).
    pub delay_step_secs: u32,
    /// Unknown recipients that end the session and penalise the address, 1–10000 (default 10).
    pub max_unknown: u32,
    /// Seconds a penalised address is refused at connect, 0–86400 (default 600).
    pub penalty_secs: u32,
}

impl Default for SmtpProbingPolicy {
    fn default() -> Self {
        SmtpProbingPolicy { slow_after: 3, delay_step_secs: 1, max_unknown: 10, penalty_secs: 600 }
    }
}

/// Bytes of message data held in memory over all sessions: read when the mail service
/// starts (a change applies after the service restarts, not to a running one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpDataLimits {
    /// The in-flight budget: bytes of messages in memory at once (arriving, checked or
    /// being stored), 16 MiB–16 GiB, at least the message size limit (default 256 MiB).
    /// A message the budget is short for waits at its end of data; one larger than it gets
    /// 452 4.3.1.
    #[ts(type = "number")]
    pub in_flight_bytes: u64,
}

impl Default for SmtpDataLimits {
    fn default() -> Self {
        SmtpDataLimits { in_flight_bytes: DEFAULT_IN_FLIGHT_BYTES }
    }
}

/// The default of [`SmtpDataLimits::in_flight_bytes`] (256 MiB).
pub const DEFAULT_IN_FLIGHT_BYTES: u64 = 256 * 1024 * 1024;
/// Smallest in-flight budget an admin may set (16 MiB).
pub const MIN_IN_FLIGHT_BYTES: u64 = 16 * 1024 * 1024;
/// Largest in-flight budget an admin may set (16 GiB).
pub const MAX_IN_FLIGHT_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// The default of [`SmtpConnectionPolicy::max_connections_per_ip`].
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 20;

/// At most `count` events per `window_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SmtpRateLimit {
    /// Events allowed per window, 1–1000000.
    pub count: u32,
    /// Window length in seconds, 1–86400.
    pub window_secs: u32,
}

/// Sender checks at MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSenderPolicy {
    /// Refuse syntactically broken sender addresses (default true).
    pub reject_malformed: bool,
    /// Refuse senders whose domain has neither MX nor A/AAAA records (default false).
    pub reject_domain_without_mx_or_a: bool,
    /// Refuse unauthenticated MAIL FROM using one of our own domains (default true).
    pub reject_unauthenticated_local_domain: bool,
}

impl Default for SmtpSenderPolicy {
    fn default() -> Self {
        SmtpSenderPolicy {
            reject_malformed: true,
            reject_domain_without_mx_or_a: false,
            reject_unauthenticated_local_domain: true,
        }
    }
}

/// Inbound message authentication for unauthenticated sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpInboundAuth {
    /// Verify SPF, DKIM and DMARC and record an Authentication-Results header (default true).
    pub verify: bool,
    /// Refuse at MAIL FROM when SPF says fail (default false).
    pub reject_spf_fail: bool,
    /// Refuse when DMARC fails and the sender domain's policy is reject (default true).
    pub enforce_dmarc_reject: bool,
    /// Deliver to the recipients' Junk folder when DMARC fails and the domain's policy is
    /// quarantine, or reject while that is not enforced (default true).
    #[serde(default = "yes")]
    pub junk_dmarc_fail: bool,
    /// Deliver to the recipients' Junk folder when SPF says fail (default false).
    #[serde(default)]
    pub junk_spf_fail: bool,
}

fn yes() -> bool {
    true
}

impl Default for SmtpInboundAuth {
    fn default() -> Self {
        SmtpInboundAuth {
            verify: true,
            reject_spf_fail: false,
            enforce_dmarc_reject: true,
            junk_dmarc_fail: true,
            junk_spf_fail: false,
        }
    }
}

/// What a black/white list rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpRuleKind {
    /// The whole envelope sender address (stored lower-case).
    SenderAddress,
    /// The sender's domain or any subdomain of it (stored as ASCII, IDNA A-labels).
    SenderDomain,
    /// The client's IP address, or a network in CIDR form (`192.0.2.0/24`).
    ClientIp,
}

impl SmtpRuleKind {
    /// Every kind.
    pub const ALL: [SmtpRuleKind; 3] =
        [SmtpRuleKind::SenderAddress, SmtpRuleKind::SenderDomain, SmtpRuleKind::ClientIp];
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpRuleKind::SenderAddress => "sender_address",
            SmtpRuleKind::SenderDomain => "sender_domain",
            SmtpRuleKind::ClientIp => "client_ip",
        }
    }
    /// Parses a name; spaces, hyphens and case are forgiven (`Sender address`).
    pub fn parse(s: &str) -> Option<Self> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        SmtpRuleKind::ALL.into_iter().find(|k| k.as_str() == norm)
    }
}

/// What happens to mail a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpRuleAction {
    /// Refuse (554 5.7.1 at connect for IP rules, 550 5.7.1 at MAIL).
    Reject,
    /// Answer as if accepted, then drop the message.
    Discard,
    /// Skip the remaining policy checks (white list).
    Allow,
}

impl SmtpRuleAction {
    /// Every action.
    pub const ALL: [SmtpRuleAction; 3] = [SmtpRuleAction::Reject, SmtpRuleAction::Discard, SmtpRuleAction::Allow];
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpRuleAction::Reject => "reject",
            SmtpRuleAction::Discard => "discard",
            SmtpRuleAction::Allow => "allow",
        }
    }
    /// Parses a name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let norm = s.trim().to_ascii_lowercase();
        SmtpRuleAction::ALL.into_iter().find(|a| a.as_str() == norm)
    }
}

/// One black/white list rule. Rules are checked in `position` order; the first match decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpRule {
    /// Rule id.
    pub id: u32,
    /// The admin's name for it, unique (case-insensitive); refusals are counted under it.
    pub name: String,
    /// What it matches.
    pub kind: SmtpRuleKind,
    /// The address, domain, IP or CIDR network, canonical.
    pub value: String,
    /// What it does.
    pub action: SmtpRuleAction,
    /// Place in the list, 1 = checked first.
    pub position: u32,
    /// Free text for admins.
    pub note: String,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
}

/// What the mail server needs: the settings and the rules in order, with the version
/// they were read at ([`crate::Engine::smtp_config`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpConfig {
    /// Server-wide settings.
    pub settings: SmtpSettings,
    /// The black/white list, first match decides.
    pub rules: Vec<SmtpRule>,
    /// Bumped by every committed change of settings or rules (stored, so it survives a restart).
    pub version: u64,
}

/// How an imported rules file joins the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpImportMode {
    /// After the existing rules (the default).
    #[default]
    Append,
    /// Instead of the existing rules.
    Replace,
}

/// What a rules import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpRulesImported {
    /// Rules added from the file.
    pub added: u32,
    /// Rules removed first (replace mode).
    pub removed: u32,
}

/// Which kind of listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpListenerKind {
    /// Inbound mail from other servers (port 25).
    Mx,
    /// Submission with STARTTLS (port 587).
    Submission,
    /// Submission over implicit TLS (port 465).
    Submissions,
}

/// A listener of the running mail server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpListener {
    /// Which kind.
    pub kind: SmtpListenerKind,
    /// Bound address, `IP:PORT`.
    pub address: String,
}

/// The SMTP service's live counters since it started (mirrors `postdesk_smtp::CountersSnapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpCounters {
    /// Connections accepted since start.
    #[ts(type = "number")]
    pub connections: u64,
    /// Sessions open now.
    #[ts(type = "number")]
    pub active_sessions: u64,
    /// Sessions that became encrypted (STARTTLS or implicit TLS).
    #[ts(type = "number")]
    pub tls_sessions: u64,
    /// Messages answered 250 and stored.
    #[ts(type = "number")]
    pub messages_accepted: u64,
    /// Recipients of those messages.
    #[ts(type = "number")]
    pub recipients_accepted: u64,
    /// Bytes of those messages as received.
    #[ts(type = "number")]
    pub bytes_accepted: u64,
    /// Messages answered 250 and dropped by a discard rule.
    #[ts(type = "number")]
    pub messages_discarded: u64,
    /// Successful AUTH.
    #[ts(type = "number")]
    pub auth_succeeded: u64,
    /// Failed AUTH.
    #[ts(type = "number")]
    pub auth_failed: u64,
    /// Messages the store could not keep (answered 451).
    #[ts(type = "number")]
    pub store_failures: u64,
    /// Refusals per rule name (list rules by their name, built-in checks by theirs).
    #[ts(type = "Record<string, number>")]
    pub refused: BTreeMap<String, u64>,
    /// Discards per rule name.
    #[ts(type = "Record<string, number>")]
    pub discarded: BTreeMap<String, u64>,
    /// Messages accepted into the recipients' Junk folder, per inbound check (`dmarc_fail`,
    /// `spf_fail`).
    #[serde(default)]
    pub junked: BTreeMap<String, u64>,
    /// Acceptance latency (end of data → 250), median, milliseconds.
    pub accept_latency_p50_ms: f64,
    /// Acceptance latency, 99th percentile, milliseconds.
    pub accept_latency_p99_ms: f64,
}

/// What outbound delivery has done since start (mirrors
/// `postdesk_mailserver::OutboundStats`): recipients, not messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpOutboundStats {
    /// Recipients the remote server accepted.
    #[ts(type = "number")]
    pub delivered: u64,
    /// Temporary failures (each retried later).
    #[ts(type = "number")]
    pub deferred: u64,
    /// Recipients given up (the sender got a DSN where one may go).
    #[ts(type = "number")]
    pub bounced: u64,
    /// Bounce and delay reports sent.
    #[ts(type = "number")]
    pub dsns: u64,
    /// SMTP transactions attempted.
    #[ts(type = "number")]
    pub transactions: u64,
    /// Connections opened for them (fewer when a connection carries several: reuse).
    #[serde(default)]
    #[ts(type = "number")]
    pub connections: u64,
}

/// The outbound queue's recipients of one destination domain, by status: what is waiting
/// (queued, deferred) and what became of the rest (delivered, bounced) while in the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OutboundDestination {
    /// The recipient domain.
    pub domain: String,
    /// Not tried yet.
    #[ts(type = "number")]
    pub queued: u64,
    /// Waiting for a retry after a temporary failure.
    #[ts(type = "number")]
    pub deferred: u64,
    /// Accepted by the remote server.
    #[ts(type = "number")]
    pub delivered: u64,
    /// Given up (5xx, expired, or by an admin).
    #[ts(type = "number")]
    pub bounced: u64,
}

/// What delivery into the mailboxes has done since start (mirrors
/// `postdesk_mailserver::DeliveryStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpDeliveryStats {
    /// Spooled messages handled (delivered, or nothing left to deliver to).
    #[ts(type = "number")]
    pub messages: u64,
    /// Copies stored in mailboxes.
    #[ts(type = "number")]
    pub copies: u64,
    /// Copies a mailbox did not take (full, disabled, refused by its receive policy).
    #[ts(type = "number")]
    pub refused: u64,
    /// Spooled messages delivered before (a redelivery after a restart).
    #[ts(type = "number")]
    pub already_delivered: u64,
    /// Messages handed to the outbound queue (recipients outside our domains) since start.
    #[ts(type = "number")]
    pub awaiting_relay: u64,
    /// Delivery passes that failed and were retried.
    #[ts(type = "number")]
    pub retries: u64,
    /// Messages answered 250 and still in the spool, not yet in the mailboxes (nor handed
    /// to the outbound queue) — now, not since start.
    #[serde(default)]
    #[ts(type = "number")]
    pub waiting: u64,
    /// Messages a disclaimer was appended to.
    #[serde(default)]
    #[ts(type = "number")]
    pub disclaimers: u64,
    /// Messages a disclaimer rule fired for that were signed or encrypted, left untouched.
    #[serde(default)]
    #[ts(type = "number")]
    pub disclaimers_signed_untouched: u64,
}

/// Where in the SMTP dialogue a refusal happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpStage {
    /// At connect, before the greeting.
    Connect,
    /// HELO/EHLO.
    Helo,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// End of DATA/BDAT.
    Data,
}

/// One refusal, as the SMTP service logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpRefusal {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The client's IP address.
    pub client_ip: String,
    /// The listener it came in on.
    pub listener: SmtpListenerKind,
    /// Where in the dialogue.
    pub stage: SmtpStage,
    /// Envelope sender, when known.
    pub sender: Option<String>,
    /// Recipient, when the refusal was of one.
    pub recipient: Option<String>,
    /// The rule that refused (a list rule's name, or a built-in check's).
    pub rule: String,
    /// The reply sent, e.g. `550 5.7.1 …`.
    pub reply: String,
}

/// The mail server's state as the admin page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SmtpStatus {
    /// Whether an SMTP service runs in this backend's process.
    pub running: bool,
    /// Its listeners (empty when not running).
    pub listeners: Vec<SmtpListener>,
    /// Live counters since start (zero when not running).
    pub counters: SmtpCounters,
    /// Delivery into mailboxes since start.
    pub delivery: SmtpDeliveryStats,
    /// Outbound delivery (the queue's worker) since start.
    #[serde(default)]
    pub outbound: SmtpOutboundStats,
    /// The outbound queue per destination domain (the busiest first, at most 100), read
    /// from the queue itself, so it is there whether or not a mail server runs here.
    #[serde(default)]
    pub destinations: Vec<OutboundDestination>,
    /// The last refusals, newest first (the service keeps a bounded number).
    pub last_refusals: Vec<SmtpRefusal>,
}

/// What the engine asks the running mail server for its status. Set by the process that
/// runs one ([`crate::Engine::set_mail_monitor`]); `get_smtp_status` reads it.
pub trait MailServiceMonitor: Send + Sync {
    /// The status now.
    fn status(&self) -> SmtpStatus;
    /// The services mail clients connect to that run now, with their bound ports, and the
    /// host name in force (what "enter mailbox" and the autoconfiguration endpoints show).
    fn client_services(&self) -> ClientServices;
}

/// A listener a mail client connects to (not the MX listener, which is for other servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClientService {
    /// IMAP over implicit TLS.
    Imaps,
    /// IMAP with STARTTLS.
    Imap,
    /// POP3 over implicit TLS.
    Pop3s,
    /// POP3 with STLS.
    Pop3,
    /// SMTP submission over implicit TLS.
    Submissions,
    /// SMTP submission with STARTTLS.
    Submission,
}

impl ClientService {
    /// `imap`, `pop3` or `smtp`.
    pub fn protocol(self) -> &'static str {
        match self {
            ClientService::Imaps | ClientService::Imap => "imap",
            ClientService::Pop3s | ClientService::Pop3 => "pop3",
            ClientService::Submissions | ClientService::Submission => "smtp",
        }
    }

    /// Implicit TLS or STARTTLS.
    pub fn security(self) -> crate::model::Security {
        match self {
            ClientService::Imaps | ClientService::Pop3s | ClientService::Submissions => crate::model::Security::Tls,
            _ => crate::model::Security::StartTls,
        }
    }

    /// Its endpoint on `host` at `port`, allowed.
    pub fn endpoint(self, host: &str, port: u16) -> crate::model::ClientEndpoint {
        crate::model::ClientEndpoint {
            protocol: self.protocol().into(),
            host: host.to_string(),
            port,
            security: self.security(),
            allowed: true,
            note: None,
        }
    }
}

/// What the running mail server offers mail clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct ClientServices {
    /// The SMTP host name in force (`--smtp-hostname` or the stored setting).
    pub hostname: String,
    /// The client listeners that run, with their bound TCP ports, in [`ClientService`] order.
    pub listeners: Vec<(ClientService, u16)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_from_an_empty_object_and_refuse_unknown_fields() {
        let s: SmtpSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, SmtpSettings::default());
        assert_eq!(s.max_message_bytes, 26_214_400);
        assert!(serde_json::from_str::<SmtpSettings>(r#"{"max_mesage_bytes": 5}"#).is_err());
    }

    #[test]
    fn kinds_and_actions_parse_forgivingly() {
        assert_eq!(SmtpRuleKind::parse("Sender address"), Some(SmtpRuleKind::SenderAddress));
        assert_eq!(SmtpRuleKind::parse("client-ip"), Some(SmtpRuleKind::ClientIp));
        assert_eq!(SmtpRuleKind::parse("ip"), None);
        assert_eq!(SmtpRuleAction::parse(" DISCARD "), Some(SmtpRuleAction::Discard));
        assert_eq!(SmtpRuleAction::parse("deny"), None);
    }
}
