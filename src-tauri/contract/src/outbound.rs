//! Outbound mail: the durable queue's types (shared by the engine that stores it, the
//! mail server that drains it and, later, the admin API that shows it) and its pure rules —
//! the retry schedule, when to give up, when to send a delay notice, and who may get a
//! delivery status notification (DSN).
//!
//! The retry schedule (documented in docs/ARCHITECTURE.md, "Outbound"): the first retry 5
//! minutes after the first failed attempt, then doubling (10, 20, 40 minutes) up to one
//! hour between attempts; a recipient still not delivered 5 days after the message was
//! queued is bounced; a delay notice goes to the sender once, 4 hours after queueing. All
//! of it lives in [`RetryPolicy`], whose defaults are those figures.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What has become of one recipient of a queued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// Not tried yet.
    Queued,
    /// Tried and failed temporarily; tried again at `next_attempt`.
    Deferred,
    /// The remote server answered 250 (final).
    Delivered,
    /// Failed permanently, expired or bounced by an admin (final; a DSN was sent where one
    /// may be).
    Bounced,
}

impl RecipientStatus {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            RecipientStatus::Queued => "queued",
            RecipientStatus::Deferred => "deferred",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Bounced => "bounced",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<RecipientStatus> {
        Some(match name {
            "queued" => RecipientStatus::Queued,
            "deferred" => RecipientStatus::Deferred,
            "delivered" => RecipientStatus::Delivered,
            "bounced" => RecipientStatus::Bounced,
            _ => return None,
        })
    }

    /// Delivered or bounced: nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, RecipientStatus::Delivered | RecipientStatus::Bounced)
    }
}

/// The outbound part of a message handed over by a mail service
/// ([`KeyedMessage::outbound`](crate::mail::KeyedMessage::outbound)): queued in the same
/// transaction as the local copies, under the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEnvelope {
    /// The envelope sender (`MAIL FROM`); empty for the null sender (a bounce).
    pub sender: String,
    /// The recipients outside our domains (canonical: lower-case domain).
    pub recipients: Vec<String>,
}

/// One recipient of a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRecipient {
    /// Its row id (what [`RecipientResult`] names).
    pub id: i64,
    /// The address.
    pub address: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Whether the sender was told it is delayed.
    pub delay_notified: bool,
    /// An admin asked to bounce it now (`bounce_outbound`): no more attempts.
    pub bounce_now: bool,
}

/// A message claimed by one delivery worker under a lease
/// ([`OutboundQueue::claim_outbound`](crate::mail::OutboundQueue::claim_outbound)), with the
/// recipients that are due now.
#[derive(Debug, Clone)]
pub struct OutboundJob {
    /// The queue's message id.
    pub id: i64,
    /// The hand-over key (`smtp:<queue id>`, `dsn:…`).
    pub key: String,
    /// The envelope sender; empty for the null sender.
    pub sender: String,
    /// The raw message.
    pub raw: Vec<u8>,
    /// When it was queued (UNIX seconds).
    pub created_at: i64,
    /// The recipients due now (queued, or deferred and past their next attempt).
    pub recipients: Vec<OutboundRecipient>,
}

/// What one attempt did to one recipient
/// ([`OutboundQueue::report_outbound`](crate::mail::OutboundQueue::report_outbound)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    /// The recipient's row id.
    pub id: i64,
    /// Its status now.
    pub status: RecipientStatus,
    /// The remote server's reply (or why no server answered).
    pub reply: String,
    /// For `Deferred`: when to try again (UNIX seconds).
    pub next_attempt: Option<i64>,
    /// A delay notice went to the sender with this attempt.
    pub delay_notified: bool,
}

/// A domain's fixed route (Postfix's `transport_maps`): mail for `domain` goes to
/// `host:port` instead of its MX hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OutboundTransport {
    /// The recipient domain (canonical), or `*` for every domain.
    pub domain: String,
    /// The host (name or IP address).
    pub host: String,
    /// The port.
    pub port: u16,
}

/// One message of the outbound queue, as the admin sees it (`list_outbound_queue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct QueuedMessage {
    /// Its id (what retry, delete and bounce name).
    #[ts(type = "number")]
    pub id: i64,
    /// The envelope sender; empty for the null sender (a DSN).
    pub sender: String,
    /// Bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// When it was queued, RFC 3339 UTC.
    pub created_at: String,
    /// Who is sending it now (a worker's lease), if anyone.
    pub leased_by: Option<String>,
    /// Its recipients.
    pub recipients: Vec<QueuedRecipient>,
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct QueuedRecipient {
    /// The address.
    pub address: String,
    /// Where it stands.
    pub status: RecipientStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The next attempt (queued or deferred), RFC 3339 UTC.
    pub next_attempt_at: Option<String>,
    /// The last attempt, RFC 3339 UTC.
    pub last_attempt_at: Option<String>,
    /// The remote server's last reply, or why there was none.
    pub last_reply: Option<String>,
}

/// An MTA-STS policy kept for a recipient domain (RFC 8461 §5.1), stored by the outbound
/// worker so that it survives a restart
/// ([`OutboundQueue::keep_mta_sts_policy`](crate::mail::OutboundQueue::keep_mta_sts_policy)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptStsPolicy {
    /// The recipient domain (canonical).
    pub domain: String,
    /// The policy id of the domain's `_mta-sts` TXT record when it was fetched.
    pub id: String,
    /// `enforce`, `testing` or `none`.
    pub mode: String,
    /// The MX patterns.
    pub mx: Vec<String>,
    /// Its `max_age`, seconds.
    pub max_age: u64,
    /// UNIX seconds from which it is no longer used (fetched at + `max_age`).
    pub until: i64,
}

/// A domain's active DKIM key, for signing what it sends.
#[derive(Clone)]
pub struct DkimSigningKey {
    /// The signing domain (`d=`).
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// `rsa-sha256` (RSA-2048) or `ed25519-sha256`.
    pub ed25519: bool,
    /// The private key, PEM (never logged).
    pub private_key_pem: String,
}

impl std::fmt::Debug for DkimSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimSigningKey")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("ed25519", &self.ed25519)
            .finish_non_exhaustive()
    }
}

/// When to try again, when to give up, when to tell the sender it takes longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Seconds before the first retry.
    pub first_retry_secs: i64,
    /// The longest wait between two attempts.
    pub max_retry_secs: i64,
    /// A recipient not delivered this long after queueing is bounced.
    pub give_up_secs: i64,
    /// A delay notice goes to the sender this long after queueing (once); `None` = never.
    pub delay_notice_secs: Option<i64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_retry_secs: 5 * 60,
            max_retry_secs: 3600,
            give_up_secs: 5 * 24 * 3600,
            delay_notice_secs: Some(4 * 3600),
        }
    }
}

impl RetryPolicy {
    /// Seconds to wait after the `attempts`-th failed attempt (1 = the first): 5 min,
    /// 10, 20, 40, then 60 for every later one.
    pub fn retry_after(&self, attempts: u32) -> i64 {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_retry_secs.saturating_mul(1i64 << doublings).min(self.max_retry_secs)
    }

    /// What a temporary failure at `now` makes of a recipient of a message queued at
    /// `created_at` after `attempts` attempts (this one included): `Some(next attempt)`, or
    /// `None` when the next attempt would be past the give-up time (bounce now).
    pub fn next_attempt(&self, created_at: i64, now: i64, attempts: u32) -> Option<i64> {
        let next = now + self.retry_after(attempts);
        (next - created_at <= self.give_up_secs).then_some(next)
    }

    /// Whether a delay notice is due at `now` for a message queued at `created_at`.
    pub fn delay_notice_due(&self, created_at: i64, now: i64) -> bool {
        self.delay_notice_secs.is_some_and(|after| now - created_at >= after)
    }
}

/// Whether a DSN about a message from `sender` may be sent at all: never to the null
/// sender (RFC 5321 §4.5.5: that is what bounces carry, so a bounce never bounces) and
/// never for mail from a mailer daemon's address.
pub fn dsn_allowed(sender: &str) -> bool {
    let local = sender.rsplit_once('@').map_or(sender, |(l, _)| l).to_ascii_lowercase();
    !sender.is_empty() && local != "mailer-daemon" && local != "postmaster"
}

/// Whether an SMTP reply code is a permanent failure (5xx), so the recipient bounces now.
pub fn is_permanent(code: u16) -> bool {
    (500..600).contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_doubles_from_five_minutes_to_an_hour() {
        let p = RetryPolicy::default();
        let waits: Vec<i64> = (1..=7).map(|n| p.retry_after(n) / 60).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(p.retry_after(u32::MAX), 3600);
    }

    #[test]
    fn a_recipient_is_given_up_after_five_days() {
        let p = RetryPolicy::default();
        let day = 24 * 3600;
        assert_eq!(p.next_attempt(0, 60, 1), Some(60 + 300));
        assert_eq!(p.next_attempt(0, 5 * day - 3600, 40), Some(5 * day));
        assert_eq!(p.next_attempt(0, 5 * day - 3599, 40), None);
        assert!(!p.delay_notice_due(0, 4 * 3600 - 1));
        assert!(p.delay_notice_due(0, 4 * 3600));
        assert!(!RetryPolicy { delay_notice_secs: None, ..p }.delay_notice_due(0, day));
    }

    #[test]
    fn bounces_never_go_to_the_null_sender_or_a_daemon() {
        assert!(dsn_allowed("ann@example.com"));
        assert!(!dsn_allowed(""));
        assert!(!dsn_allowed("MAILER-DAEMON@example.com"));
        assert!(!dsn_allowed("postmaster@example.com"));
        assert!(is_permanent(550) && !is_permanent(451) && !is_permanent(250));
    }
}
