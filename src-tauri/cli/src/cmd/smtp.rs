//! `postdesk smtp …`: the SMTP service's server-wide settings, black/white list rules and
//! live status, through the `Backend` like every other command.

mod rules;

use clap::{Args, Subcommand, ValueEnum};
use postdesk_contract::api::*;
use postdesk_contract::smtp::*;
use postdesk_contract::{Backend, Error, Result};

use crate::output::{Table, print_one};

#[derive(Subcommand, Debug)]
pub enum SmtpCmd {
    /// Server-wide SMTP settings (host name, limits, timeouts, AUTH, policies).
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// The black/white list: rules checked in order, the first match decides.
    #[command(subcommand)]
    Rules(rules::RulesCmd),
    /// The running SMTP service: listeners, counters, refusals per rule, last refusals.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum SettingsCmd {
    /// Show the settings.
    Show,
    /// Change some settings; the others stay as they are.
    Set(SetArgs),
}

/// `true`/`false` for a yes/no setting.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Flag {
    True,
    False,
}

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        matches!(f, Flag::True)
    }
}

#[derive(Args, Debug, Default)]
pub struct SetArgs {
    /// Our host name (greeting, EHLO, Received).
    #[arg(long)]
    hostname: Option<String>,
    /// Greeting text after the host name.
    #[arg(long)]
    banner: Option<String>,
    /// Largest message in bytes (1024 to 1073741824).
    #[arg(long)]
    max_message_bytes: Option<u64>,
    /// Most recipients per message (1–10000).
    #[arg(long)]
    max_recipients: Option<u32>,
    /// Seconds to wait for a command (10–3600).
    #[arg(long)]
    command_timeout: Option<u32>,
    /// Seconds to wait for message data (10–3600).
    #[arg(long)]
    data_timeout: Option<u32>,
    /// Bad commands before disconnect.
    #[arg(long)]
    max_errors: Option<u32>,
    /// Failed AUTH attempts per connection before disconnect.
    #[arg(long)]
    max_auth_failures: Option<u32>,
    /// Offer AUTH without TLS.
    #[arg(long, value_enum)]
    allow_auth_without_tls: Option<Flag>,
    /// Authenticated senders must use their own addresses.
    #[arg(long, value_enum)]
    require_sender_match: Option<Flag>,
    /// Connections at once over all listeners.
    #[arg(long)]
    max_connections: Option<u32>,
    /// Connections at once per client address, or `none`.
    #[arg(long, value_name = "N|none")]
    max_connections_per_ip: Option<String>,
    /// Messages per client address per window, as COUNT/SECONDS (`100/60`), or `none`.
    #[arg(long, value_name = "COUNT/SECS|none")]
    messages_per_ip: Option<String>,
    /// Refuse MX clients without matching reverse DNS.
    #[arg(long, value_enum)]
    require_reverse_dns: Option<Flag>,
    /// Refuse malformed sender addresses.
    #[arg(long, value_enum)]
    reject_malformed: Option<Flag>,
    /// Refuse senders whose domain has no MX or A record.
    #[arg(long, value_enum)]
    reject_domain_without_mx_or_a: Option<Flag>,
    /// Refuse unauthenticated senders using our own domains.
    #[arg(long, value_enum)]
    reject_unauthenticated_local_domain: Option<Flag>,
    /// Verify inbound SPF, DKIM and DMARC.
    #[arg(long, value_enum)]
    verify_inbound: Option<Flag>,
    /// Refuse mail whose SPF check fails.
    #[arg(long, value_enum)]
    reject_spf_fail: Option<Flag>,
    /// Refuse mail failing DMARC when the sender's policy is reject.
    #[arg(long, value_enum)]
    enforce_dmarc_reject: Option<Flag>,
    /// Deliver mail failing DMARC (policy quarantine, or reject when not enforced) to Junk.
    #[arg(long, value_enum)]
    junk_dmarc_fail: Option<Flag>,
    /// Deliver mail failing SPF to Junk.
    #[arg(long, value_enum)]
    junk_spf_fail: Option<Flag>,
}

fn none_or<T>(field: &str, raw: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>> {
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    parse(raw.trim())
        .map(Some)
        .ok_or_else(|| Error::validation(format!("--{field}: '{raw}' is not understood")).with_field(field))
}

impl SetArgs {
    fn apply(&self, mut s: SmtpSettings) -> Result<SmtpSettings> {
        fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
            if let Some(v) = v {
                *slot = v.clone();
            }
        }
        fn flag(slot: &mut bool, v: Option<Flag>) {
            if let Some(v) = v {
                *slot = v.into();
            }
        }
        set(&mut s.hostname, &self.hostname);
        set(&mut s.banner, &self.banner);
        set(&mut s.max_message_bytes, &self.max_message_bytes);
        set(&mut s.max_recipients, &self.max_recipients);
        set(&mut s.command_timeout_secs, &self.command_timeout);
        set(&mut s.data_timeout_secs, &self.data_timeout);
        set(&mut s.max_errors, &self.max_errors);
        set(&mut s.max_auth_failures, &self.max_auth_failures);
        flag(&mut s.allow_auth_without_tls, self.allow_auth_without_tls);
        flag(&mut s.require_sender_match, self.require_sender_match);
        set(&mut s.max_connections, &self.max_connections);
        if let Some(raw) = &self.max_connections_per_ip {
            s.connection.max_connections_per_ip = none_or("max-connections-per-ip", raw, |v| v.parse().ok())?;
        }
        if let Some(raw) = &self.messages_per_ip {
            s.connection.messages_per_ip = none_or("messages-per-ip", raw, |v| {
                let (count, secs) = v.split_once('/')?;
                Some(SmtpRateLimit { count: count.trim().parse().ok()?, window_secs: secs.trim().parse().ok()? })
            })?;
        }
        flag(&mut s.connection.require_reverse_dns, self.require_reverse_dns);
        flag(&mut s.sender.reject_malformed, self.reject_malformed);
        flag(&mut s.sender.reject_domain_without_mx_or_a, self.reject_domain_without_mx_or_a);
        flag(&mut s.sender.reject_unauthenticated_local_domain, self.reject_unauthenticated_local_domain);
        flag(&mut s.inbound_auth.verify, self.verify_inbound);
        flag(&mut s.inbound_auth.reject_spf_fail, self.reject_spf_fail);
        flag(&mut s.inbound_auth.enforce_dmarc_reject, self.enforce_dmarc_reject);
        flag(&mut s.inbound_auth.junk_dmarc_fail, self.junk_dmarc_fail);
        flag(&mut s.inbound_auth.junk_spf_fail, self.junk_spf_fail);
        Ok(s)
    }
}

pub async fn run(b: &dyn Backend, cmd: &SmtpCmd, json: bool) -> Result<()> {
    match cmd {
        SmtpCmd::Settings(SettingsCmd::Show) => print_one(json, &b.get_smtp_settings(GetSmtpSettings {}).await?),
        SmtpCmd::Settings(SettingsCmd::Set(args)) => {
            let current = b.get_smtp_settings(GetSmtpSettings {}).await?;
            let settings = args.apply(current)?;
            print_one(json, &b.update_smtp_settings(UpdateSmtpSettings { settings }).await?)
        }
        SmtpCmd::Rules(cmd) => rules::run(b, cmd, json).await,
        SmtpCmd::Status => status(b, json).await,
    }
}

async fn status(b: &dyn Backend, json: bool) -> Result<()> {
    let s = b.get_smtp_status(GetSmtpStatus {}).await?;
    if json {
        return print_one(true, &s);
    }
    if !s.running {
        println!("the SMTP service is not running in this backend's process");
        return Ok(());
    }
    for l in &s.listeners {
        println!("listening: {} on {}", l.kind_name(), l.address);
    }
    let c = &s.counters;
    println!(
        "connections {} (open {}, TLS {}); accepted {} messages, {} recipients, {} bytes; discarded {}",
        c.connections,
        c.active_sessions,
        c.tls_sessions,
        c.messages_accepted,
        c.recipients_accepted,
        c.bytes_accepted,
        c.messages_discarded
    );
    println!(
        "AUTH ok {} failed {}; store failures {}; acceptance latency p50 {:.1} ms p99 {:.1} ms",
        c.auth_succeeded, c.auth_failed, c.store_failures, c.accept_latency_p50_ms, c.accept_latency_p99_ms
    );
    let d = &s.delivery;
    println!(
        "delivery: {} messages, {} copies, {} refused, {} queued for outbound, {} retries; {} waiting in the spool now",
        d.messages, d.copies, d.refused, d.awaiting_relay, d.retries, d.waiting
    );
    let o = &s.outbound;
    println!(
        "outbound: {} delivered, {} deferred, {} bounced (recipients); {} DSNs, {} transactions over {} connections",
        o.delivered, o.deferred, o.bounced, o.dsns, o.transactions, o.connections
    );
    if !s.destinations.is_empty() {
        let mut t = Table::new(&["DESTINATION", "QUEUED", "DEFERRED", "DELIVERED", "BOUNCED"]);
        for d in &s.destinations {
            let n = |v: u64| v.to_string();
            t.row(vec![d.domain.clone(), n(d.queued), n(d.deferred), n(d.delivered), n(d.bounced)]);
        }
        t.print();
    }
    if !c.refused.is_empty() || !c.discarded.is_empty() {
        let mut t = Table::new(&["RULE", "REFUSED", "DISCARDED"]);
        let mut names: Vec<&String> = c.refused.keys().chain(c.discarded.keys()).collect();
        names.sort();
        names.dedup();
        for n in names {
            let get = |m: &std::collections::BTreeMap<String, u64>| m.get(n).copied().unwrap_or(0).to_string();
            t.row(vec![n.clone(), get(&c.refused), get(&c.discarded)]);
        }
        t.print();
    }
    if !s.last_refusals.is_empty() {
        let mut t = Table::new(&["AT", "CLIENT", "STAGE", "SENDER", "RECIPIENT", "RULE", "REPLY"]);
        for r in &s.last_refusals {
            t.row(vec![
                r.at.clone(),
                r.client_ip.clone(),
                serde_json::to_value(r.stage).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                r.sender.clone().unwrap_or_default(),
                r.recipient.clone().unwrap_or_default(),
                r.rule.clone(),
                r.reply.clone(),
            ]);
        }
        t.print();
    }
    Ok(())
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for SmtpListener {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            SmtpListenerKind::Mx => "mx",
            SmtpListenerKind::Submission => "submission",
            SmtpListenerKind::Submissions => "submissions",
        }
    }
}
