//! The listeners and the limits of the service.

use std::time::Duration;

/// The default port of the plain listener with STLS (no root needed; the standard is 110).
pub const DEFAULT_POP3_PORT: u16 = 2110;
/// The default port of the implicit-TLS listener (no root needed; the standard is 995).
pub const DEFAULT_POP3S_PORT: u16 = 2995;
/// The longest command line accepted, CRLF included (RFC 2449 §4 allows 255 octets for
/// commands; this leaves room for SASL initial responses).
pub const MAX_LINE: usize = 512;

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pop3Listener {
    /// Plain POP3; logins only after STLS (RFC 2595).
    Pop3,
    /// POP3 over implicit TLS (POP3S, RFC 8314).
    Pop3s,
}

impl Pop3Listener {
    /// Its name in logs (`pop3`, `pop3s`).
    pub fn name(self) -> &'static str {
        match self {
            Pop3Listener::Pop3 => "pop3",
            Pop3Listener::Pop3s => "pop3s",
        }
    }

    /// Its default port ([`DEFAULT_POP3_PORT`], [`DEFAULT_POP3S_PORT`]).
    pub fn default_port(self) -> u16 {
        match self {
            Pop3Listener::Pop3 => DEFAULT_POP3_PORT,
            Pop3Listener::Pop3s => DEFAULT_POP3S_PORT,
        }
    }
}

/// The service's resource limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Limits {
    /// Connections served at once, over all listeners; more are answered
    /// `-ERR [SYS/TEMP]` and closed (on POP3S closed at once, without a TLS handshake).
    pub max_connections: u32,
    /// Connections at once from one client address (refused like `max_connections`).
    pub max_connections_per_ip: u32,
    /// Refused logins on one connection before it is closed.
    pub max_auth_failures: u32,
    /// Bad commands (unknown, malformed, out of state, too long) on one connection before
    /// it is closed.
    pub max_errors: u32,
    /// How long a session may wait for the client's next command (RFC 1939's autologout
    /// timer: at least 10 minutes); then it is closed without an update.
    pub idle_timeout: Duration,
    /// How long a TLS handshake (POP3S, STLS) may take.
    pub handshake_timeout: Duration,
}

impl Default for Pop3Limits {
    fn default() -> Self {
        Pop3Limits {
            max_connections: 500,
            max_connections_per_ip: 20,
            max_auth_failures: 3,
            max_errors: 10,
            idle_timeout: Duration::from_secs(600),
            handshake_timeout: Duration::from_secs(15),
        }
    }
}
