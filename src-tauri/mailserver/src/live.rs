//! The SMTP profile from what the engine stores (settings and black/white list rules,
//! `ServiceHooks::smtp_config`), kept current while the service runs, and the monitor that
//! reports the service's state back to the engine for `get_smtp_status`.
//!
//! Reload. The task started by [`spawn_reloader`] waits on the engine's change
//! notification (`ServiceHooks::subscribe_smtp_config`); after every committed change it reads
//! the configuration again, converts it and hands it to [`SmtpService::set_profile`]: new
//! connections use it, open sessions from their next MAIL FROM. When reading or converting
//! fails the old profile stays and the failure is logged; the next change tries again.
//! Listener addresses and the TLS certificate are not part of the stored settings and never
//! change while running.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use postdesk_contract::mail::MailBackend;
use postdesk_contract::smtp::{
    ClientService, ClientServices, MailServiceMonitor, SmtpConfig, SmtpCounters, SmtpDeliveryStats, SmtpListener,
    SmtpListenerKind, SmtpOutboundStats, SmtpRefusal, SmtpRuleAction, SmtpRuleKind, SmtpSettings, SmtpStage,
    SmtpStatus,
};
use postdesk_smtp::{
    ConnectionPolicy, CountersSnapshot, InboundAuth, ListAction, ListMatch, ListRule, ListenerKind, ProbingPolicy,
    RateLimit, Refusal, RefusalStage, SenderPolicy, SmtpProfile, SmtpService,
};
use tokio_util::sync::CancellationToken;

use crate::delivery::{DeliveryStats, Stats};

/// The SMTP profile of `config`. `hostname`, when given, replaces the stored host name
/// (`postdesk serve --smtp-hostname`). Fails (naming the rule) on a rule value the SMTP
/// service cannot read; the engine checks values when they are stored, so that means a
/// damaged database, and the caller keeps the profile it has.
pub fn profile_from_config(config: &SmtpConfig, hostname: Option<&str>) -> Result<SmtpProfile, String> {
    let mut profile = profile_from_settings(&config.settings);
    if let Some(name) = hostname {
        profile.hostname = name.to_string();
    }
    let mut rules: Vec<_> = config.rules.iter().collect();
    rules.sort_by_key(|r| r.position);
    profile.lists = rules
        .into_iter()
        .map(|r| {
            let matches = match r.kind {
                SmtpRuleKind::SenderAddress => ListMatch::SenderAddress(r.value.clone()),
                SmtpRuleKind::SenderDomain => ListMatch::SenderDomain(r.value.clone()),
                SmtpRuleKind::ClientIp => ListMatch::ClientIp(
                    r.value.parse().map_err(|e| format!("SMTP rule '{}' has an unusable value: {e}", r.name))?,
                ),
            };
            let action = match r.action {
                SmtpRuleAction::Reject => ListAction::Reject,
                SmtpRuleAction::Discard => ListAction::Discard,
                SmtpRuleAction::Allow => ListAction::Allow,
            };
            Ok(ListRule { name: r.name.clone(), matches, action })
        })
        .collect::<Result<_, String>>()?;
    Ok(profile)
}

/// The profile of the stored settings, with no list rules.
fn profile_from_settings(s: &SmtpSettings) -> SmtpProfile {
    let secs = |n: u32| std::time::Duration::from_secs(u64::from(n));
    SmtpProfile {
        hostname: s.hostname.clone(),
        banner: s.banner.clone(),
        max_message_size: usize::try_from(s.max_message_bytes).unwrap_or(usize::MAX),
        max_recipients: s.max_recipients as usize,
        command_timeout: secs(s.command_timeout_secs),
        data_timeout: secs(s.data_timeout_secs),
        max_errors: s.max_errors,
        max_auth_failures: s.max_auth_failures,
        allow_auth_without_tls: s.allow_auth_without_tls,
        require_sender_match: s.require_sender_match,
        max_connections: s.max_connections as usize,
        connection: ConnectionPolicy {
            max_connections_per_ip: s.connection.max_connections_per_ip,
            messages_per_ip: s
                .connection
                .messages_per_ip
                .map(|r| RateLimit { count: r.count, window: secs(r.window_secs) }),
            require_reverse_dns: s.connection.require_reverse_dns,
        },
        probing: ProbingPolicy {
            slow_after: s.probing.slow_after,
            delay_step: secs(s.probing.delay_step_secs),
            max_unknown: s.probing.max_unknown,
            penalty: secs(s.probing.penalty_secs),
        },
        sender: SenderPolicy {
            reject_malformed: s.sender.reject_malformed,
            reject_domain_without_mx_or_a: s.sender.reject_domain_without_mx_or_a,
            reject_unauthenticated_local_domain: s.sender.reject_unauthenticated_local_domain,
        },
        lists: Vec::new(),
        inbound_auth: InboundAuth {
            verify: s.inbound_auth.verify,
            reject_spf_fail: s.inbound_auth.reject_spf_fail,
            enforce_dmarc_reject: s.inbound_auth.enforce_dmarc_reject,
            junk_dmarc_fail: s.inbound_auth.junk_dmarc_fail,
            junk_spf_fail: s.inbound_auth.junk_spf_fail,
        },
    }
}

/// The message data limits of the stored settings, for a service built now (the budget
/// is not part of the profile: it does not change while the service runs). Temporary
/// files go to `dir`.
pub(crate) fn data_limits(s: &SmtpSettings, dir: std::path::PathBuf) -> postdesk_smtp::DataLimits {
    postdesk_smtp::DataLimits {
        in_flight: usize::try_from(s.data.in_flight_bytes).unwrap_or(usize::MAX),
        dir: Some(dir),
        ..postdesk_smtp::DataLimits::default()
    }
}

/// Reads the engine's SMTP configuration and converts it.
pub(crate) async fn load_profile(backend: &dyn MailBackend, hostname: Option<&str>) -> Result<SmtpProfile, String> {
    let config = backend.smtp_config().await.map_err(|e| format!("cannot read the SMTP settings: {e}"))?;
    profile_from_config(&config, hostname)
}

/// How the reloads went since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reloads {
    /// Changed configurations now in force.
    pub applied: u64,
    /// Changes that could not be read or converted (the previous profile stayed).
    pub failed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ReloadCounts {
    applied: AtomicU64,
    failed: AtomicU64,
}

impl ReloadCounts {
    pub(crate) fn snapshot(&self) -> Reloads {
        Reloads { applied: self.applied.load(Ordering::Relaxed), failed: self.failed.load(Ordering::Relaxed) }
    }
}

/// Replaces the service's profile after every committed change of the SMTP settings or
/// rules, until `stop`. `changes` must be subscribed before the first profile was loaded,
/// so that no change between the two is missed.
pub(crate) fn spawn_reloader(
    backend: Arc<dyn MailBackend>,
    service: Arc<SmtpService>,
    mut changes: tokio::sync::watch::Receiver<u64>,
    hostname: Option<String>,
    counts: Arc<ReloadCounts>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                _ = stop.cancelled() => break,
            }
            let version = *changes.borrow_and_update();
            match load_profile(backend.as_ref(), hostname.as_deref()).await {
                Ok(profile) => {
                    tracing::info!(version, rules = profile.lists.len(), "SMTP settings changed; profile reloaded");
                    service.set_profile(profile);
                    counts.applied.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!(version, "{e}; the SMTP service keeps its previous profile");
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })
}

/// Reports the running service to the engine (`ServiceHooks::set_mail_monitor`).
pub(crate) struct Monitor {
    pub service: Arc<SmtpService>,
    pub stats: Arc<Stats>,
    /// The spool, for the messages waiting in it.
    pub spool: Arc<postdesk_smtp::store::FileSpool>,
    /// Outbound delivery's counters.
    pub outbound: Arc<crate::outbound::Stats>,
    /// The IMAP and POP3 listeners with their bound ports (fixed while running; the SMTP
    /// ones are asked of the service).
    pub other_listeners: Vec<(ClientService, u16)>,
}

impl MailServiceMonitor for Monitor {
    fn status(&self) -> SmtpStatus {
        SmtpStatus {
            running: true,
            listeners: self
                .service
                .listeners()
                .into_iter()
                .map(|(kind, addr)| SmtpListener { kind: listener_kind(kind), address: addr.to_string() })
                .collect(),
            counters: counters(self.service.counters()),
            delivery: SmtpDeliveryStats { waiting: self.spool.waiting() as u64, ..delivery(self.stats.snapshot()) },
            outbound: {
                let o = self.outbound.snapshot();
                SmtpOutboundStats {
                    delivered: o.delivered,
                    deferred: o.deferred,
                    bounced: o.bounced,
                    dsns: o.dsns,
                    transactions: o.transactions,
                    connections: o.connections,
                }
            },
            last_refusals: self.service.recent_refusals().into_iter().map(refusal).collect(),
            // The engine adds these from the queue itself.
            destinations: Vec::new(),
        }
    }

    fn client_services(&self) -> ClientServices {
        let mut listeners: Vec<(ClientService, u16)> = self
            .service
            .listeners()
            .into_iter()
            .filter_map(|(kind, addr)| match kind {
                ListenerKind::Mx => None,
                ListenerKind::Submission => Some((ClientService::Submission, addr.port())),
                ListenerKind::Submissions => Some((ClientService::Submissions, addr.port())),
            })
            .chain(self.other_listeners.iter().copied())
            .collect();
        listeners.sort();
        ClientServices { hostname: self.service.profile().hostname.clone(), listeners }
    }
}

fn listener_kind(kind: ListenerKind) -> SmtpListenerKind {
    match kind {
        ListenerKind::Mx => SmtpListenerKind::Mx,
        ListenerKind::Submission => SmtpListenerKind::Submission,
        ListenerKind::Submissions => SmtpListenerKind::Submissions,
    }
}

fn counters(c: CountersSnapshot) -> SmtpCounters {
    SmtpCounters {
        connections: c.connections,
        active_sessions: c.active_sessions,
        tls_sessions: c.tls_sessions,
        messages_accepted: c.messages_accepted,
        recipients_accepted: c.recipients_accepted,
        bytes_accepted: c.bytes_accepted,
        messages_discarded: c.messages_discarded,
        auth_succeeded: c.auth_succeeded,
        auth_failed: c.auth_failed,
        store_failures: c.store_failures,
        refused: c.refused,
        discarded: c.discarded,
        junked: c.junked,
        accept_latency_p50_ms: c.accept_latency_p50_ms,
        accept_latency_p99_ms: c.accept_latency_p99_ms,
    }
}

fn delivery(d: DeliveryStats) -> SmtpDeliveryStats {
    SmtpDeliveryStats {
        messages: d.messages,
        copies: d.copies,
        refused: d.refused,
        already_delivered: d.already_delivered,
        awaiting_relay: d.awaiting_relay,
        retries: d.retries,
        waiting: 0,
        disclaimers: d.disclaimers,
        disclaimers_signed_untouched: d.disclaimers_signed_untouched,
    }
}

fn refusal(r: Refusal) -> SmtpRefusal {
    SmtpRefusal {
        at: r.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        client_ip: r.client_ip.to_string(),
        listener: listener_kind(r.listener),
        stage: match r.stage {
            RefusalStage::Connect => SmtpStage::Connect,
            RefusalStage::Auth => SmtpStage::Auth,
            RefusalStage::Mail => SmtpStage::Mail,
            RefusalStage::Rcpt => SmtpStage::Rcpt,
            RefusalStage::Data => SmtpStage::Data,
            // EHLO/HELO and the other commands outside a transaction (the error limit).
            RefusalStage::Command => SmtpStage::Helo,
        },
        sender: r.sender,
        recipient: r.recipient,
        rule: r.rule,
        reply: r.reply,
    }
}

#[cfg(test)]
mod tests {
    use postdesk_contract::smtp::{SmtpRateLimit, SmtpRule};

    use super::*;

    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn the_stored_defaults_are_the_services_defaults() {
        let config = SmtpConfig { settings: SmtpSettings::default(), rules: Vec::new(), version: 0 };
        let profile = profile_from_config(&config, None).unwrap();
        assert_eq!(json(&profile), json(&SmtpProfile::default()));
        let named = profile_from_config(&config, Some("mx.example.com")).unwrap();
        assert_eq!(named.hostname, "mx.example.com");
        assert_eq!(json(&SmtpProfile { hostname: "localhost".into(), ..named }), json(&SmtpProfile::default()));
        // The data budget is the service's, outside the profile.
        let budget = postdesk_smtp::DataLimits::default().in_flight;
        assert_eq!(config.settings.data.in_flight_bytes, budget as u64);
    }

    #[test]
    fn settings_and_rules_convert_in_position_order() {
        let mut settings = SmtpSettings { max_recipients: 7, command_timeout_secs: 60, ..SmtpSettings::default() };
        settings.connection.messages_per_ip = Some(SmtpRateLimit { count: 5, window_secs: 30 });
        let rule = |id: u32, position: u32, kind: SmtpRuleKind, value: &str, action: SmtpRuleAction| SmtpRule {
            id,
            name: format!("r{id}"),
            kind,
            value: value.into(),
            action,
            position,
            note: String::new(),
            created_at: String::new(),
        };
        let rules = vec![
            rule(1, 3, SmtpRuleKind::ClientIp, "192.0.2.0/24", SmtpRuleAction::Reject),
            rule(2, 1, SmtpRuleKind::SenderDomain, "bad.test", SmtpRuleAction::Discard),
            rule(3, 2, SmtpRuleKind::SenderAddress, "boss@bad.test", SmtpRuleAction::Allow),
        ];
        let profile = profile_from_config(&SmtpConfig { settings, rules, version: 4 }, None).unwrap();
        assert_eq!(profile.max_recipients, 7);
        assert_eq!(profile.command_timeout, std::time::Duration::from_secs(60));
        assert_eq!(
            profile.connection.messages_per_ip,
            Some(RateLimit { count: 5, window: std::time::Duration::from_secs(30) })
        );
        let names: Vec<_> = profile.lists.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["r2", "r3", "r1"]);
        assert_eq!(profile.lists[0].matches, ListMatch::SenderDomain("bad.test".into()));
        assert_eq!(profile.lists[1].action, ListAction::Allow);
        assert_eq!(profile.lists[2].matches, ListMatch::ClientIp("192.0.2.0/24".parse().unwrap()));

        let broken = SmtpConfig {
            settings: SmtpSettings::default(),
            rules: vec![rule(9, 1, SmtpRuleKind::ClientIp, "not-an-ip", SmtpRuleAction::Reject)],
            version: 5,
        };
        let e = profile_from_config(&broken, None).unwrap_err();
        assert!(e.contains("'r9'"), "{e}");
    }
}
