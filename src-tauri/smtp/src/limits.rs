//! Per-client limits of the connection policy: concurrent connections per IP
//! and messages per IP per time window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::RateLimit;

/// Connection counts, message windows and probing penalties per client address.
#[derive(Debug, Default)]
pub(crate) struct ClientLimits {
    connections: Mutex<HashMap<IpAddr, u32>>,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    penalties: Mutex<HashMap<IpAddr, Instant>>,
}

/// Holds one connection slot of a client; released on drop.
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    limits: Arc<ClientLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut map = self.limits.connections.lock().expect("limits lock");
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl ClientLimits {
    /// Takes a connection slot for `ip`, unless it already has `max` connections.
    pub fn connect(self: &Arc<Self>, ip: IpAddr, max: Option<u32>) -> Option<ConnectionSlot> {
        let mut map = self.connections.lock().expect("limits lock");
        let n = map.entry(ip).or_insert(0);
        if max.is_some_and(|max| *n >= max) {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot { limits: self.clone(), ip })
    }

    /// Refuses `ip` at connect for `penalty` (the profile's `probing.penalty`).
    pub fn penalise(&self, ip: IpAddr, penalty: std::time::Duration) {
        let now = Instant::now();
        let mut map = self.penalties.lock().expect("limits lock");
        if map.len() > 100_000 {
            map.retain(|_, until| *until > now);
        }
        map.insert(ip, now + penalty);
    }

    /// Whether `ip` is serving a penalty now.
    pub fn penalised(&self, ip: IpAddr) -> bool {
        let mut map = self.penalties.lock().expect("limits lock");
        match map.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                map.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Counts one message for `ip`; false when that exceeds `limit` in the current window.
    pub fn message(&self, ip: IpAddr, limit: Option<RateLimit>) -> bool {
        self.message_at(ip, limit, Instant::now())
    }

    /// [`message`](Self::message) at the time `now`.
    fn message_at(&self, ip: IpAddr, limit: Option<RateLimit>, now: Instant) -> bool {
        let Some(limit) = limit else { return true };
        let mut map = self.windows.lock().expect("limits lock");
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < limit.window);
        }
        let (start, count) = map.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= limit.window {
            *start = now;
            *count = 0;
        }
        if *count >= limit.count {
            return false;
        }
        *count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn slots_are_released_and_windows_reset() {
        let limits = Arc::new(ClientLimits::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = limits.connect(ip, Some(2)).unwrap();
        let _b = limits.connect(ip, Some(2)).unwrap();
        assert!(limits.connect(ip, Some(2)).is_none());
        assert!(limits.connect("192.0.2.2".parse().unwrap(), Some(2)).is_some());
        drop(a);
        assert!(limits.connect(ip, Some(2)).is_some());

        let rate = Some(RateLimit { count: 2, window: Duration::from_secs(60) });
        let t0 = Instant::now();
        assert!(limits.message_at(ip, rate, t0));
        assert!(limits.message_at(ip, rate, t0 + Duration::from_secs(1)));
        assert!(!limits.message_at(ip, rate, t0 + Duration::from_secs(59)), "a third within the window");
        assert!(limits.message_at("192.0.2.2".parse().unwrap(), rate, t0 + Duration::from_secs(59)), "per address");
        assert!(limits.message_at(ip, rate, t0 + Duration::from_secs(60)), "a new window");
        assert!(limits.message(ip, None), "no limit");
    }
}
