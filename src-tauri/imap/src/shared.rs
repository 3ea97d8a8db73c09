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
    /// URLAUTH mailbox access keys (RFC 4467), per (account, folder). Kept in memory: a
    /// restart is a RESETKEY of every mailbox (the URLs given out stop working).
    pub url_keys: Mutex<HashMap<(String, String), ring::hmac::Key>>,
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

    /// The URLAUTH key of a mailbox; `create` makes one when there is none.
    pub fn url_key(&self, account: &str, folder: &str, create: bool) -> Option<ring::hmac::Key> {
        let mut keys = self.url_keys.lock().expect("url keys lock");
        let id = (account.to_ascii_lowercase(), folder.to_string());
        if create && !keys.contains_key(&id) {
            let rng = ring::rand::SystemRandom::new();
            let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).ok()?;
            keys.insert(id.clone(), key);
        }
        keys.get(&id).cloned()
    }

    /// RESETKEY: forgets the keys of one mailbox, or of all of the account's.
    pub fn reset_url_keys(&self, account: &str, folder: Option<&str>) {
        let account = account.to_ascii_lowercase();
        self.url_keys
            .lock()
            .expect("url keys lock")
            .retain(|(a, f), _| a != &account || folder.is_some_and(|x| x != f));
    }

    /// The mark without claiming (EXAMINE, STATUS).
    pub fn recent_mark(&self, account: &str, folder: &str, uidvalidity: u32) -> u32 {
        let key = (account.to_string(), folder.to_string(), uidvalidity);
        self.recent.lock().expect("recent lock").get(&key).copied().unwrap_or(0)
    }
}
