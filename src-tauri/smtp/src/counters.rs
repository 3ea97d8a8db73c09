//! Live counters for the admin counters page: connections, messages accepted and
//! discarded, refusals per rule, and the acceptance latency (end of DATA → 250).
//!
//! Updates are lock-free atomics except the per-rule maps and the log of the last
//! refusals ([`Refusal`], the newest [`REFUSAL_LOG_LEN`] kept), which are touched only on
//! refusals and discards.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::ListenerKind;
use crate::reply::Reply;

/// Sub-buckets per power of two in the latency histogram (≈9% resolution).
const SUB: f64 = 8.0;
/// Buckets: 2^0 µs … 2^40 µs.
const BUCKETS: usize = 8 * 40;

/// The live counters of one SMTP service (all listeners).
#[derive(Debug)]
pub struct Counters {
    connections: AtomicU64,
    active: AtomicU64,
    tls_sessions: AtomicU64,
    messages_accepted: AtomicU64,
    recipients_accepted: AtomicU64,
    bytes_accepted: AtomicU64,
    messages_discarded: AtomicU64,
    auth_succeeded: AtomicU64,
    auth_failed: AtomicU64,
    store_failures: AtomicU64,
    tarpitted: AtomicU64,
    tarpit_ms: AtomicU64,
    refused: Mutex<BTreeMap<String, u64>>,
    discarded: Mutex<BTreeMap<String, u64>>,
    junked: Mutex<BTreeMap<String, u64>>,
    recent: Mutex<VecDeque<Refusal>>,
    latency: Box<[AtomicU64]>,
}

/// How many refusals the log keeps (the oldest is dropped first).
pub const REFUSAL_LOG_LEN: usize = 200;
/// Longest sender or recipient kept in a log entry (longer ones are cut, marked `…`).
const MAX_ADDRESS: usize = 320;
/// Longest reply text kept in a log entry.
const MAX_REPLY: usize = 512;

/// Where in the dialogue a refusal was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalStage {
    /// At connect, before or instead of the greeting (limits, IP lists, reverse DNS).
    Connect,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA or BDAT, up to the reply to the end of the message.
    Data,
    /// Any other command (the error limit).
    Command,
}

impl RefusalStage {
    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RefusalStage::Connect => "connect",
            RefusalStage::Auth => "auth",
            RefusalStage::Mail => "mail",
            RefusalStage::Rcpt => "rcpt",
            RefusalStage::Data => "data",
            RefusalStage::Command => "command",
        }
    }
}

/// One refusal as the admin sees it in the last refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The client's address.
    pub client_ip: IpAddr,
    /// The listener the client connected to.
    pub listener: ListenerKind,
    /// The stage.
    pub stage: RefusalStage,
    /// The envelope sender, when one was given (empty for the null sender `<>`).
    pub sender: Option<String>,
    /// The recipient refused (RCPT only).
    pub recipient: Option<String>,
    /// The rule it is counted under.
    pub rule: String,
    /// The reply sent, e.g. `550 5.7.1 Sender refused by policy`.
    pub reply: String,
}

impl Refusal {
    /// A log entry for `reply` sent now under `rule`; long texts are cut.
    pub fn new(
        client_ip: IpAddr,
        listener: ListenerKind,
        stage: RefusalStage,
        sender: Option<&str>,
        recipient: Option<&str>,
        rule: &str,
        reply: &Reply,
    ) -> Refusal {
        Refusal {
            at: OffsetDateTime::now_utc(),
            client_ip,
            listener,
            stage,
            sender: sender.map(|s| cut(s, MAX_ADDRESS)),
            recipient: recipient.map(|r| cut(r, MAX_ADDRESS)),
            rule: cut(rule, MAX_ADDRESS),
            reply: cut(&reply.to_string(), MAX_REPLY),
        }
    }
}

/// `s` up to `max` bytes (on a character boundary), with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            connections: AtomicU64::new(0),
            active: AtomicU64::new(0),
            tls_sessions: AtomicU64::new(0),
            messages_accepted: AtomicU64::new(0),
            recipients_accepted: AtomicU64::new(0),
            bytes_accepted: AtomicU64::new(0),
            messages_discarded: AtomicU64::new(0),
            auth_succeeded: AtomicU64::new(0),
            auth_failed: AtomicU64::new(0),
            store_failures: AtomicU64::new(0),
            tarpitted: AtomicU64::new(0),
            tarpit_ms: AtomicU64::new(0),
            refused: Mutex::new(BTreeMap::new()),
            discarded: Mutex::new(BTreeMap::new()),
            junked: Mutex::new(BTreeMap::new()),
            recent: Mutex::new(VecDeque::with_capacity(REFUSAL_LOG_LEN)),
            latency: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A copy of the counters at one moment, for display or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CountersSnapshot {
    /// Connections accepted since start.
    pub connections: u64,
    /// Sessions open now.
    pub active_sessions: u64,
    /// Sessions that became encrypted (STARTTLS or implicit TLS).
    pub tls_sessions: u64,
    /// Messages answered 250 and stored.
    pub messages_accepted: u64,
    /// Recipients of those messages.
    pub recipients_accepted: u64,
    /// Bytes of those messages as received.
    pub bytes_accepted: u64,
    /// Messages answered 250 and dropped by a discard rule.
    pub messages_discarded: u64,
    /// Successful AUTH.
    pub auth_succeeded: u64,
    /// Failed AUTH (wrong password, locked, SMTP disabled).
    pub auth_failed: u64,
    /// Messages the store could not keep (answered 451).
    pub store_failures: u64,
    /// RCPT commands held back by the tarpit of recipient probing.
    pub recipients_tarpitted: u64,
    /// The delays of those RCPTs added up, milliseconds.
    pub tarpit_delay_ms: u64,
    /// Refusals (connections, commands, recipients, messages) per rule name.
    pub refused: BTreeMap<String, u64>,
    /// Discards per rule name.
    pub discarded: BTreeMap<String, u64>,
    /// Messages accepted into the recipients' Junk folder, per inbound check
    /// (`dmarc_fail`, `spf_fail`).
    pub junked: BTreeMap<String, u64>,
    /// Messages that went to a temporary file while arriving (larger than the in-memory
    /// limit, or the memory budget was short).
    pub data_spooled_to_disk: u64,
    /// Ends of data that waited for the memory budget before being checked and stored.
    pub data_budget_waits: u64,
    /// Sessions waiting for the memory budget now.
    pub data_budget_waiting: u64,
    /// Acceptance latency (end of data → stored durably, the 250 about to go out), median, milliseconds.
    pub accept_latency_p50_ms: f64,
    /// Acceptance latency, 99th percentile, milliseconds.
    pub accept_latency_p99_ms: f64,
}

impl CountersSnapshot {
    /// Refusals counted under `rule` (0 when none).
    pub fn refused(&self, rule: &str) -> u64 {
        self.refused.get(rule).copied().unwrap_or(0)
    }
}

impl Counters {
    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn connection_closed(&self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
    pub(crate) fn active(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }
    pub(crate) fn tls(&self) {
        self.tls_sessions.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn accepted(&self, recipients: usize, bytes: usize, latency: Duration) {
        self.messages_accepted.fetch_add(1, Ordering::Relaxed);
        self.recipients_accepted.fetch_add(recipients as u64, Ordering::Relaxed);
        self.bytes_accepted.fetch_add(bytes as u64, Ordering::Relaxed);
        self.record_latency(latency);
    }
    pub(crate) fn auth(&self, ok: bool) {
        if ok { &self.auth_succeeded } else { &self.auth_failed }.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn tarpitted(&self, delay: Duration) {
        self.tarpitted.fetch_add(1, Ordering::Relaxed);
        self.tarpit_ms.fetch_add(delay.as_millis() as u64, Ordering::Relaxed);
    }
    pub(crate) fn store_failed(&self) {
        self.store_failures.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a refusal under `rule` without logging it (see [`Counters::refusal`]).
    pub(crate) fn refused(&self, rule: &str) {
        let mut map = self.refused.lock().expect("counters lock");
        match map.get_mut(rule) {
            Some(n) => *n += 1,
            None => {
                map.insert(rule.to_string(), 1);
            }
        }
    }
    /// Counts a refusal under its rule and adds it to the log of the last refusals.
    pub(crate) fn refusal(&self, refusal: Refusal) {
        self.refused(&refusal.rule);
        let mut log = self.recent.lock().expect("counters lock");
        if log.len() == REFUSAL_LOG_LEN {
            log.pop_front();
        }
        log.push_back(refusal);
    }

    /// The last refusals, newest first (at most [`REFUSAL_LOG_LEN`]).
    pub fn recent_refusals(&self) -> Vec<Refusal> {
        self.recent.lock().expect("counters lock").iter().rev().cloned().collect()
    }
    pub(crate) fn junked(&self, rule: &str) {
        *self.junked.lock().expect("counters lock").entry(rule.to_string()).or_default() += 1;
    }
    pub(crate) fn discarded(&self, rule: &str) {
        self.messages_discarded.fetch_add(1, Ordering::Relaxed);
        *self.discarded.lock().expect("counters lock").entry(rule.to_string()).or_default() += 1;
    }

    fn record_latency(&self, latency: Duration) {
        let us = latency.as_micros().max(1) as f64;
        let i = ((us.log2() * SUB) as usize).min(BUCKETS - 1);
        self.latency[i].fetch_add(1, Ordering::Relaxed);
    }

    /// The latency at quantile `q` (0..=1): the upper edge of the bucket holding it.
    fn latency_quantile(&self, q: f64) -> Duration {
        let counts: Vec<u64> = self.latency.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_secs_f64(2f64.powf((i as f64 + 1.0) / SUB) / 1e6);
            }
        }
        Duration::ZERO
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> CountersSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            connections: load(&self.connections),
            active_sessions: load(&self.active),
            tls_sessions: load(&self.tls_sessions),
            messages_accepted: load(&self.messages_accepted),
            recipients_accepted: load(&self.recipients_accepted),
            bytes_accepted: load(&self.bytes_accepted),
            messages_discarded: load(&self.messages_discarded),
            auth_succeeded: load(&self.auth_succeeded),
            auth_failed: load(&self.auth_failed),
            store_failures: load(&self.store_failures),
            recipients_tarpitted: load(&self.tarpitted),
            tarpit_delay_ms: load(&self.tarpit_ms),
            refused: self.refused.lock().expect("counters lock").clone(),
            discarded: self.discarded.lock().expect("counters lock").clone(),
            junked: self.junked.lock().expect("counters lock").clone(),
            data_spooled_to_disk: 0,
            data_budget_waits: 0,
            data_budget_waiting: 0,
            accept_latency_p50_ms: self.latency_quantile(0.50).as_secs_f64() * 1e3,
            accept_latency_p99_ms: self.latency_quantile(0.99).as_secs_f64() * 1e3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_are_within_a_bucket() {
        let c = Counters::default();
        for ms in 1..=100u64 {
            c.accepted(1, 10, Duration::from_millis(ms));
        }
        let s = c.snapshot();
        assert_eq!(s.messages_accepted, 100);
        assert!((45.0..=56.0).contains(&s.accept_latency_p50_ms), "{}", s.accept_latency_p50_ms);
        assert!((99.0..=110.0).contains(&s.accept_latency_p99_ms), "{}", s.accept_latency_p99_ms);
        c.refused("unknown_recipient");
        c.refused("unknown_recipient");
        assert_eq!(c.snapshot().refused("unknown_recipient"), 2);
    }

    #[test]
    fn the_refusal_log_keeps_the_newest_and_cuts_long_texts() {
        let c = Counters::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let reply = Reply::new(550, [5, 7, 1], "Sender refused by policy");
        for i in 0..REFUSAL_LOG_LEN + 5 {
            let sender = format!("s{i}@example.test");
            c.refusal(Refusal::new(ip, ListenerKind::Mx, RefusalStage::Mail, Some(&sender), None, "block", &reply));
        }
        let log = c.recent_refusals();
        assert_eq!(log.len(), REFUSAL_LOG_LEN);
        assert_eq!(log[0].sender.as_deref(), Some(format!("s{}@example.test", REFUSAL_LOG_LEN + 4).as_str()));
        assert_eq!(log.last().unwrap().sender.as_deref(), Some("s5@example.test"));
        assert_eq!(log[0].reply, "550 5.7.1 Sender refused by policy");
        assert_eq!(c.snapshot().refused("block"), (REFUSAL_LOG_LEN + 5) as u64);

        let long = "é".repeat(400);
        let r = Refusal::new(ip, ListenerKind::Mx, RefusalStage::Rcpt, None, Some(&long), "x", &reply);
        let kept = r.recipient.unwrap();
        assert!(kept.len() <= MAX_ADDRESS + '…'.len_utf8() && kept.ends_with('…'), "{kept}");
    }
}
