//! The service's listeners and limits.

use std::time::Duration;

/// The two kinds of listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImapListener {
    /// Plain IMAP with STARTTLS (no login before TLS).
    Imap,
    /// IMAP over implicit TLS (RFC 8314).
    Imaps,
}

impl ImapListener {
    /// The port used when none is configured (no root needed): 2143 and 2993.
    pub fn default_port(self) -> u16 {
        match self {
            ImapListener::Imap => 2143,
            ImapListener::Imaps => 2993,
        }
    }

    /// `imap` or `imaps`.
    pub fn name(self) -> &'static str {
        match self {
            ImapListener::Imap => "imap",
            ImapListener::Imaps => "imaps",
        }
    }
}

/// Limits and time-outs.
#[derive(Debug, Clone)]
pub struct ImapOptions {
    /// Connections at once, in all.
    pub max_connections: usize,
    /// Connections at once from one address.
    pub max_connections_per_ip: usize,
    /// The largest literal (an APPENDed message).
    pub max_literal: usize,
    /// Idle time before login.
    pub login_timeout: Duration,
    /// Idle time after login (RFC 9051 asks for at least 30 minutes).
    pub idle_timeout: Duration,
    /// Failed logins on one connection before it is closed.
    pub max_auth_failures: u32,
}

impl Default for ImapOptions {
    fn default() -> Self {
        ImapOptions {
            max_connections: 500,
            max_connections_per_ip: 50,
            max_literal: 64 * 1024 * 1024,
            login_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            max_auth_failures: 3,
        }
    }
}
