//! What every session of one service shares: built by the server, read by the sessions.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use postdesk_contract::mail::MailBackend;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::ImapOptions;

/// What every session of one service shares.
pub(crate) struct Shared {
    pub backend: Arc<dyn MailBackend>,
    pub tls: Option<TlsAcceptor>,
    pub options: ImapOptions,
    pub shutdown: CancellationToken,
    /// Per (account, folder, UIDVALIDITY): the highest UID a session has seen as
    /// `\Recent` (RFC 3501: a message is recent in exactly one session). Kept in memory:
    /// after a restart every message is new to the first session again, as RFC 3501
    /// allows.
    pub recent: Mutex<HashMap<(String, String, u32), u32>>,
    pub connections: Mutex<HashMap<IpAddr, usize>>,
    pub active: std::sync::atomic::AtomicUsize,
}

impl Shared {
    /// Claims the UIDs above what was claimed for the folder: returns the old mark.
    pub fn claim_recent(&self, account: &str, folder: &str, uidvalidity: u32, highest: u32) -> u32 {
        let mut map = self.recent.lock().expect("recent lock");
        let mark = map.entry((account.to_string(), folder.to_string(), uidvalidity)).or_insert(0);
        let old = *mark;
        *mark = (*mark).max(highest);
        old
    }

    /// The mark without claiming (EXAMINE, STATUS).
    pub fn recent_mark(&self, account: &str, folder: &str, uidvalidity: u32) -> u32 {
        let key = (account.to_string(), folder.to_string(), uidvalidity);
        self.recent.lock().expect("recent lock").get(&key).copied().unwrap_or(0)
    }
}
