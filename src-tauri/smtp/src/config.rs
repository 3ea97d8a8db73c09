//! The SMTP profile and the built-in delivery policy settings.
//!
//! Everything here is plain data with defaults an admin would expect; the engine fills
//! it from the domain settings when the lead wires this crate in.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which kind of listener a connection arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerKind {
    /// Inbound mail from other servers (port 25 in production, 2525 by default here):
    /// no AUTH needed, recipients must be local, inbound SPF/DKIM/DMARC apply.
    Mx,
    /// Message submission with STARTTLS (RFC 6409; 587 in production, 2587 here): AUTH
    /// required before MAIL.
    Submission,
    /// Submission over implicit TLS (RFC 8314; 465 in production, 2465 here).
    Submissions,
}

impl ListenerKind {
    /// The default port of this listener kind (unprivileged variants of 25/587/465).
    pub fn default_port(self) -> u16 {
        match self {
            ListenerKind::Mx => 2525,
            ListenerKind::Submission => 2587,
            ListenerKind::Submissions => 2465,
        }
    }

    /// Whether a client must authenticate before MAIL FROM.
    pub fn requires_auth(self) -> bool {
        !matches!(self, ListenerKind::Mx)
    }

    /// Stable lower-case name (logs, counters).
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Mx => "mx",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
        }
    }
}

/// The SMTP profile plus protocol limits and timeouts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpProfile {
    /// Our host name: greeting, EHLO reply, Received `by`, Authentication-Results authserv-id.
    pub hostname: String,
    /// Text after `220 <hostname> ` in the greeting.
    pub banner: String,
    /// Largest message accepted (advertised as SIZE, RFC 1870), bytes as received.
    pub max_message_size: usize,
    /// Most recipients per transaction; the next RCPT gets 452 4.5.3.
    pub max_recipients: usize,
    /// How long to wait for each command line (RFC 5321 §4.5.3.2 suggests 5 minutes).
    #[serde(with = "secs")]
    pub command_timeout: Duration,
    /// How long to wait for each read while receiving message data.
    #[serde(with = "secs")]
    pub data_timeout: Duration,
    /// Bad commands (unknown, syntax, out of sequence) tolerated before 421 and disconnect.
    pub max_errors: u32,
    /// Failed AUTH attempts tolerated per connection before disconnect.
    pub max_auth_failures: u32,
    /// Offer AUTH PLAIN/LOGIN on connections without TLS ("allow AUTH only over
    /// TLS" is the default: false).
    pub allow_auth_without_tls: bool,
    /// The envelope sender of an authenticated session must be one of the account's own
    /// addresses (its address or aliases).
    pub require_sender_match: bool,
    /// Connections served at once over all listeners; beyond it 421 4.7.0 at connect.
    pub max_connections: usize,
    /// Connection policy.
    pub connection: ConnectionPolicy,
    /// Recipient probing: the slow-down and the drop.
    pub probing: ProbingPolicy,
    /// Sender policy.
    pub sender: SenderPolicy,
    /// Black and white lists, checked in order; the first match decides.
    pub lists: Vec<ListRule>,
    /// Inbound SPF/DKIM/DMARC.
    pub inbound_auth: InboundAuth,
}

impl Default for SmtpProfile {
    fn default() -> Self {
        SmtpProfile {
            hostname: "localhost".into(),
            banner: "ESMTP Postdesk".into(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            max_errors: 10,
            max_auth_failures: 3,
            allow_auth_without_tls: false,
            require_sender_match: true,
            max_connections: 1024,
            connection: ConnectionPolicy::default(),
            probing: ProbingPolicy::default(),
            sender: SenderPolicy::default(),
            lists: Vec::new(),
            inbound_auth: InboundAuth::default(),
        }
    }
}

/// Limits per client address and the reverse-DNS requirement.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionPolicy {
    /// Concurrent connections per client IP (default 20, well below the default 1024 at
    /// once, so that one address cannot hold every slot); past it 421 4.7.0 at connect.
    /// `None` = no limit.
    pub max_connections_per_ip: Option<u32>,
    /// Messages per client IP per time window; `None` = no limit.
    pub messages_per_ip: Option<RateLimit>,
    /// Refuse clients on the MX listener whose address has no matching reverse DNS
    /// (PTR whose name resolves back to the address, "iprev", RFC 8601 §3).
    pub require_reverse_dns: bool,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        ConnectionPolicy { max_connections_per_ip: Some(20), messages_per_ip: None, require_reverse_dns: false }
    }
}

/// What a session that guesses recipients (unknown ones, 550 5.1.1) meets: from
/// `slow_after` unknown recipients on, each further RCPT is answered only after a delay
/// that grows by `delay_step` each time (a tarpit: guessing gets slower and slower), and at
/// `max_unknown` the session is dropped with 421 and the client address refused at
/// connect for `penalty` (10 minutes by default). Stored in the admin's SMTP settings
/// (`probing`) and applied live, like the rest of the profile.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbingPolicy {
    /// Unknown recipients before each further RCPT is delayed (default 3).
    pub slow_after: u32,
    /// The delay of the first delayed RCPT; the k-th waits k times as long (default 1 s).
    #[serde(with = "secs")]
    pub delay_step: Duration,
    /// Unknown recipients that end the session and penalise the address (default 10).
    pub max_unknown: u32,
    /// How long a penalised address is refused at connect (default 10 minutes).
    #[serde(with = "secs")]
    pub penalty: Duration,
}

impl Default for ProbingPolicy {
    fn default() -> Self {
        ProbingPolicy {
            slow_after: 3,
            delay_step: Duration::from_secs(1),
            max_unknown: 10,
            penalty: Duration::from_secs(10 * 60),
        }
    }
}

impl ProbingPolicy {
    /// How long the next RCPT waits after `unknown` unknown recipients (zero before
    /// `slow_after`).
    pub fn delay(&self, unknown: u32) -> Duration {
        match unknown.checked_sub(self.slow_after) {
            Some(k) => self.delay_step.saturating_mul(k + 1),
            None => Duration::ZERO,
        }
    }
}

/// At most `count` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Events allowed per window.
    pub count: u32,
    /// Window length.
    #[serde(with = "secs")]
    pub window: Duration,
}

/// Sender checks at MAIL FROM.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SenderPolicy {
    /// Refuse syntactically broken sender addresses (553 5.1.7).
    pub reject_malformed: bool,
    /// Refuse senders whose domain has neither MX nor A/AAAA records (550 5.1.8).
    pub reject_domain_without_mx_or_a: bool,
    /// Refuse unauthenticated MAIL FROM using one of our own domains (550 5.7.1).
    pub reject_unauthenticated_local_domain: bool,
}

impl Default for SenderPolicy {
    fn default() -> Self {
        SenderPolicy {
            reject_malformed: true,
            reject_domain_without_mx_or_a: false,
            reject_unauthenticated_local_domain: true,
        }
    }
}

/// What a black/white list rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ListMatch {
    /// The whole envelope sender address (case-insensitive).
    SenderAddress(String),
    /// The sender's domain, or any subdomain of it.
    SenderDomain(String),
    /// The client's IP address, or a network in CIDR form (`192.0.2.0/24`).
    ClientIp(IpNet),
}

/// What happens to matching mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListAction {
    /// Refuse (554 5.7.1 at connect for IP rules, 550 5.7.1 at MAIL).
    Reject,
    /// Answer as if accepted, then drop the message.
    Discard,
    /// Skip the remaining policy checks (white list).
    Allow,
}

/// One black/white list rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRule {
    /// The admin's name for the rule; refusals are counted under it.
    pub name: String,
    /// What it matches.
    #[serde(rename = "match")]
    pub matches: ListMatch,
    /// What it does.
    pub action: ListAction,
}

/// Inbound message authentication, for unauthenticated sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct InboundAuth {
    /// Verify SPF, DKIM and DMARC and record them in an Authentication-Results header.
    pub verify: bool,
    /// Refuse at MAIL FROM when SPF says fail (550 5.7.23, RFC 7372).
    pub reject_spf_fail: bool,
    /// Refuse at end of DATA when DMARC fails and the domain's policy is reject
    /// (550 5.7.1, RFC 7489 §6.7).
    pub enforce_dmarc_reject: bool,
    /// Deliver into the recipients' Junk folder when DMARC fails and the domain's policy is
    /// quarantine — or reject while `enforce_dmarc_reject` is off (RFC 7489 §6.3).
    pub junk_dmarc_fail: bool,
    /// Deliver into the recipients' Junk folder when SPF says fail (and `reject_spf_fail`
    /// did not refuse it at MAIL FROM).
    pub junk_spf_fail: bool,
}

impl Default for InboundAuth {
    fn default() -> Self {
        InboundAuth {
            verify: true,
            reject_spf_fail: false,
            enforce_dmarc_reject: true,
            junk_dmarc_fail: true,
            junk_spf_fail: false,
        }
    }
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this network (IPv4-mapped IPv6 clients match IPv4 networks).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let p = u32::from(self.prefix.min(32));
                let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let p = u32::from(self.prefix.min(128));
                let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| format!("not an IP address: {s}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix length: {s}"))?
            }
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let net: IpNet = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        let host: IpNet = "2001:db8::1".parse().unwrap();
        assert_eq!(host.prefix, 128);
        assert!(host.contains("2001:db8::1".parse().unwrap()));
        assert!(!host.contains("2001:db8::2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn profile_round_trips_through_json() {
        let mut p = SmtpProfile::default();
        p.lists.push(ListRule {
            name: "block-net".into(),
            matches: ListMatch::ClientIp("198.51.100.0/24".parse().unwrap()),
            action: ListAction::Reject,
        });
        let json = serde_json::to_string(&p).unwrap();
        let back: SmtpProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(back.lists, p.lists);
        assert_eq!(back.command_timeout, p.command_timeout);
    }
}
