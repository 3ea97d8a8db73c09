//! Admission: the global connection count, connections per client address, and the one
//! session per mailbox.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Connection counts (global and per client address) and the mailboxes in use.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    state: Mutex<Counts>,
    maildrops: Mutex<HashSet<String>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The service serves its maximum already.
    Service,
    /// This client address has its maximum already.
    Client,
}

/// One admitted connection; released on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.admission.state.lock().expect("admission lock");
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

/// A mailbox held by one session; released on drop.
#[derive(Debug)]
pub(crate) struct MaildropLock {
    admission: Arc<Admission>,
    account: String,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        self.admission.maildrops.lock().expect("maildrop lock").remove(&self.account);
    }
}

impl Admission {
    /// Takes a slot for a connection from `ip`, unless the service or the client has its
    /// maximum already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, max_total: u32, max_per_ip: u32) -> Result<Slot, Full> {
        let mut counts = self.state.lock().expect("admission lock");
        if counts.total >= max_total {
            return Err(Full::Service);
        }
        let n = counts.per_ip.entry(ip).or_insert(0);
        if *n >= max_per_ip {
            if *n == 0 {
                counts.per_ip.remove(&ip);
            }
            return Err(Full::Client);
        }
        *n += 1;
        counts.total += 1;
        Ok(Slot { admission: self.clone(), ip })
    }

    /// Takes the mailbox of `account` for one session, unless another session has it.
    pub fn lock_maildrop(self: &Arc<Self>, account: &str) -> Option<MaildropLock> {
        let mut held = self.maildrops.lock().expect("maildrop lock");
        held.insert(account.to_string()).then(|| MaildropLock { admission: self.clone(), account: account.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_maildrops_are_released() {
        let a = Arc::new(Admission::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = a.admit(ip, 3, 2).unwrap();
        let _s2 = a.admit(ip, 3, 2).unwrap();
        assert_eq!(a.admit(ip, 3, 2).unwrap_err(), Full::Client);
        let _s3 = a.admit(other, 3, 2).unwrap();
        assert_eq!(a.admit(other, 3, 2).unwrap_err(), Full::Service);
        drop(s1);
        assert!(a.admit(ip, 3, 2).is_ok());

        let lock = a.lock_maildrop("ann@example.com").unwrap();
        assert!(a.lock_maildrop("ann@example.com").is_none());
        assert!(a.lock_maildrop("bob@example.com").is_some());
        drop(lock);
        assert!(a.lock_maildrop("ann@example.com").is_some());
    }
}
