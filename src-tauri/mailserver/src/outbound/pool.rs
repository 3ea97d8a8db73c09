//! The connection cache: a session that carried a transaction stays open for the next
//! message to the same server (host, port and TLS mode), as Postfix's connection cache
//! does. Bounded: at most [`Reuse::idle_per_server`] idle sessions per server, none idle
//! longer than [`Reuse::idle`], none carrying more than [`Reuse::max_transactions`]
//! transactions. The per-destination limit is untouched: a session is taken out of the
//! cache by a transaction that holds its destination's turn, like a new connection.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::client::{Session, TlsMode};

/// The bounds of connection reuse.
#[derive(Debug, Clone, Copy)]
pub struct Reuse {
    /// Transactions one session carries at most (then it is closed).
    pub max_transactions: u32,
    /// How long an idle session is kept.
    pub idle: Duration,
    /// Idle sessions kept per server at most.
    pub idle_per_server: usize,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse { max_transactions: 100, idle: Duration::from_secs(5), idle_per_server: 4 }
    }
}

/// Which sessions may carry a transaction: the same server and the same TLS requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    host: String,
    port: u16,
    tls: &'static str,
}

impl Key {
    pub(crate) fn new(host: &str, port: u16, mode: &TlsMode) -> Key {
        Key { host: host.to_ascii_lowercase(), port, tls: mode.kind() }
    }
}

struct Idle {
    session: Session,
    since: Instant,
}

/// Idle sessions by server.
pub(crate) struct Pool {
    reuse: Reuse,
    idle: Mutex<HashMap<Key, Vec<Idle>>>,
}

impl Pool {
    pub(crate) fn new(reuse: Reuse) -> Pool {
        Pool { reuse, idle: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Idle>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently used idle session with `key` still within its idle time, if any.
    pub(crate) fn take(&self, key: &Key) -> Option<Session> {
        let mut map = self.lock();
        let list = map.get_mut(key)?;
        // The newest is last; when it idled too long, so did the others: the sweeper
        // closes them.
        if list.last()?.since.elapsed() < self.reuse.idle { list.pop().map(|idle| idle.session) } else { None }
    }

    /// Keeps `session` for the next transaction, or gives it back when it may not carry
    /// another (then the caller closes it).
    pub(crate) fn put(&self, key: Key, session: Session) -> Option<Session> {
        if session.broken || session.transactions >= self.reuse.max_transactions || self.reuse.idle.is_zero() {
            return Some(session);
        }
        let mut map = self.lock();
        let list = map.entry(key).or_default();
        if list.len() >= self.reuse.idle_per_server.max(1) {
            return Some(session);
        }
        list.push(Idle { session, since: Instant::now() });
        None
    }

    /// Takes out the sessions idle too long (all of them when `all`), to be closed.
    pub(crate) fn expired(&self, all: bool) -> Vec<Session> {
        let mut map = self.lock();
        let mut out = Vec::new();
        for list in map.values_mut() {
            let (old, keep): (Vec<Idle>, Vec<Idle>) =
                list.drain(..).partition(|i| all || i.since.elapsed() >= self.reuse.idle);
            *list = keep;
            out.extend(old.into_iter().map(|i| i.session));
        }
        map.retain(|_, list| !list.is_empty());
        out
    }
}
