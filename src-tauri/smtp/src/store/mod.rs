//! The store seam: where an accepted message goes before the client hears 250.
//!
//! Contract of [`Store::deliver`]: when it returns `Ok(id)`, the message and its envelope
//! are on stable storage (fsync'd, including the directory entry of any new file), so a
//! crash or power loss right after the 250 loses nothing. When it returns an error the
//! session answers 451 and the client retries; the message may or may not have been kept
//! (SMTP tolerates the rare duplicate, never a loss).
//!
//! [`GroupCommit`] is the batching machinery any store can use: sessions hand messages to
//! one writer thread, which writes everything that queued up while the previous fsync was
//! running and then syncs once for the whole batch. [`FileSpool`] is the file-backed store
//! of this crate built on it.
//!
//! Before the store, a message being received is held by [`incoming`]: in memory while
//! small, then in an unlinked temporary file, under one budget of message bytes in memory
//! for all sessions ([`DataLimits`]).

mod group_commit;
pub(crate) mod incoming;
mod spool;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use group_commit::{BatchWriter, CommitStats, GroupCommit, GroupCommitOptions, Pending};
pub use incoming::DataLimits;
pub use spool::{FileSpool, Recovery, SpoolOptions, SpooledMessage};

/// A queue id: unique per store, increasing, derived from the time of acceptance in
/// microseconds (so it also sorts by arrival). Shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct QueueId(pub u64);

static LAST_ID: AtomicU64 = AtomicU64::new(0);

impl QueueId {
    /// A new id, greater than every id made or [observed](QueueId::observe) before in this
    /// process.
    pub fn generate() -> QueueId {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
        let prev =
            LAST_ID.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1))).unwrap_or(0);
        QueueId(now.max(prev + 1))
    }

    /// Makes later ids greater than `id` (a store calls this with the largest id it
    /// recovered, so a clock that went backwards cannot produce a duplicate).
    pub fn observe(id: QueueId) {
        LAST_ID.fetch_max(id.0, Ordering::Relaxed);
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", self.0)
    }
}

impl FromStr for QueueId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(QueueId).map_err(|_| format!("not a queue id: {s}"))
    }
}

impl From<QueueId> for String {
    fn from(id: QueueId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for QueueId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The SMTP envelope of an accepted message and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Assigned by the session before the message is stored (it appears in the Received
    /// header).
    pub queue_id: QueueId,
    /// Envelope sender; empty for the null reverse-path `<>`.
    pub mail_from: String,
    /// Accepted recipients, in RCPT order.
    pub recipients: Vec<String>,
    /// Client address.
    pub client_ip: IpAddr,
    /// EHLO/HELO name.
    pub helo: String,
    /// Authenticated account id, if the client authenticated.
    pub account: Option<String>,
    /// Listener kind name (`mx`, `submission`, `submissions`).
    pub listener: String,
    /// Acceptance time, seconds since the Unix epoch.
    pub received_at: u64,
    /// Why the message goes to the recipients' Junk folder instead of the INBOX (the
    /// inbound check that said so: `dmarc_fail`, `spf_fail`); `None` = the INBOX.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk: Option<String>,
}

/// The store could not keep a message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Writing or syncing failed (disk full, I/O error).
    #[error("store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The store is shutting down.
    #[error("store is closed")]
    Closed,
}

/// Durable acceptance of messages.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores `message` (exactly these bytes: our trace headers followed by the message as
    /// received, dot-unstuffed, CRLF line ends) under `envelope`; returns once it is
    /// durable. See the module contract.
    async fn deliver(&self, envelope: Envelope, message: Vec<u8>) -> Result<QueueId, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_round_trip() {
        let a = QueueId::generate();
        QueueId::observe(QueueId(a.0 + 1_000_000));
        let b = QueueId::generate();
        assert!(b.0 > a.0 + 1_000_000);
        assert_eq!(b.to_string().parse::<QueueId>().unwrap(), b);
        assert_eq!(b.to_string().len(), 16);
    }
}
