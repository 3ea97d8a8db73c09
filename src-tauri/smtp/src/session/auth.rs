//! AUTH PLAIN/LOGIN (RFC 4954) and STARTTLS (RFC 3207).

use std::time::Duration;

use smtp_proto::request::receiver::RequestReceiver;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};

use super::{Close, Flow, MAX_AUTH_LINE, Session};
use crate::directory::AuthOutcome;
use crate::reply::{Reply, canned};
use crate::sasl::{self, Credentials};
use postdesk_tls::Stream;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

enum Exchange {
    Credentials(Credentials),
    Cancelled,
    Malformed,
}

impl Session {
    /// Reads one AUTH continuation line (without CRLF).
    async fn auth_line(&mut self) -> Result<Vec<u8>, Close> {
        loop {
            if let Some(i) = self.buf[self.pos..self.len].iter().position(|b| *b == b'\n') {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 1;
                let line = line.strip_suffix(b"\r").map(<[u8]>::to_vec).unwrap_or(line);
                return Ok(line);
            }
            if self.len - self.pos > MAX_AUTH_LINE {
                self.reply(&Reply::new(500, [5, 5, 6], "Authentication line too long"));
                return Err(Close::Done);
            }
            let timeout = self.profile.command_timeout;
            self.read_more(timeout).await?;
        }
    }

    /// Sends a 334 challenge and reads the answer.
    async fn challenge(&mut self, text: &str) -> Result<Option<Vec<u8>>, Close> {
        self.out.extend_from_slice(format!("334 {text}\r\n").as_bytes());
        let line = self.auth_line().await?;
        if line == b"*" {
            return Ok(None);
        }
        Ok(Some(line))
    }

    async fn sasl_exchange(&mut self, mechanism: u64, initial: String) -> Result<Exchange, Close> {
        let initial = if initial.is_empty() { None } else { Some(initial.into_bytes()) };
        if mechanism == AUTH_PLAIN {
            let response = match initial {
                // "=" is an empty initial response (RFC 4954 §4).
                Some(r) if r == b"=" => Vec::new(),
                Some(r) => r,
                None => match self.challenge("").await? {
                    Some(r) => r,
                    None => return Ok(Exchange::Cancelled),
                },
            };
            return Ok(match sasl::decode(&response).as_deref().and_then(sasl::plain) {
                Some(c) => Exchange::Credentials(c),
                None => Exchange::Malformed,
            });
        }
        // LOGIN: user name, then password, each base64.
        let user = match initial {
            Some(r) => r,
            None => match self.challenge(&sasl::encode("Username:")).await? {
                Some(r) => r,
                None => return Ok(Exchange::Cancelled),
            },
        };
        let Some(password) = self.challenge(&sasl::encode("Password:")).await? else {
            return Ok(Exchange::Cancelled);
        };
        let decoded = (sasl::decode(&user), sasl::decode(&password));
        let (Some(user), Some(password)) = decoded else { return Ok(Exchange::Malformed) };
        match (String::from_utf8(user), String::from_utf8(password)) {
            (Ok(user), Ok(password)) if !user.is_empty() => Ok(Exchange::Credentials(Credentials { user, password })),
            _ => Ok(Exchange::Malformed),
        }
    }

    /// AUTH: only PLAIN and LOGIN, only over TLS unless the profile allows otherwise.
    pub(super) async fn auth(&mut self, mechanism: u64, initial: String) -> Flow {
        if self.helo.is_none() || !self.esmtp {
            return self.protocol_error(canned::bad_sequence("Send EHLO first"));
        }
        if self.account.is_some() {
            return self.protocol_error(canned::bad_sequence("Already authenticated"));
        }
        if self.tx.is_some() {
            return self.protocol_error(canned::bad_sequence("AUTH not allowed during a mail transaction"));
        }
        if mechanism != AUTH_PLAIN && mechanism != AUTH_LOGIN {
            return self.protocol_error(Reply::new(
                504,
                [5, 5, 4],
                "Unrecognized authentication type; use PLAIN or LOGIN",
            ));
        }
        if self.tls.is_none() && !self.profile.allow_auth_without_tls {
            self.refuse(&canned::encryption_required(), "auth_without_tls");
            return Ok(());
        }
        let credentials = match self.sasl_exchange(mechanism, initial).await? {
            Exchange::Credentials(c) => c,
            Exchange::Cancelled => return self.protocol_error(Reply::new(501, [5, 0, 0], "Authentication cancelled")),
            Exchange::Malformed => {
                return self.protocol_error(Reply::new(501, [5, 5, 2], "Malformed authentication response"));
            }
        };
        let outcome =
            self.shared.directory.authenticate(&credentials.user, &credentials.password, self.peer.ip()).await;
        let failure = match outcome {
            Ok(AuthOutcome::Authenticated(account)) => {
                self.shared.counters.auth(true);
                tracing::debug!(peer = %self.peer, user = %account.address, "authenticated");
                self.account = Some(account);
                self.reply(&Reply::new(235, [2, 7, 0], "Authentication successful"));
                return Ok(());
            }
            Ok(AuthOutcome::WrongPassword) => (canned::bad_credentials(), "auth_failed"),
            Ok(AuthOutcome::Locked) => {
                (Reply::new(535, [5, 7, 8], "Account locked; ask your administrator"), "auth_locked")
            }
            // RFC 4954 has no code for "service not allowed"; 525 5.7.13 is "user account
            // disabled" (RFC 5248 registry), the closest.
            Ok(AuthOutcome::SmtpDisabled) => {
                (Reply::new(525, [5, 7, 13], "SMTP is disabled for this account"), "auth_smtp_disabled")
            }
            Err(e) => {
                tracing::warn!("directory: {e}");
                self.refuse(&Reply::new(454, [4, 7, 0], "Temporary authentication failure"), "directory_unavailable");
                return Ok(());
            }
        };
        self.shared.counters.auth(false);
        self.refuse(&failure.0, failure.1);
        self.auth_failures += 1;
        if self.auth_failures >= self.profile.max_auth_failures {
            self.refuse(
                &Reply::new(421, [4, 7, 0], "Too many failed authentications, closing connection"),
                "auth_attempts",
            );
            return Err(Close::Done);
        }
        Ok(())
    }

    /// STARTTLS: replies 220, then handshakes; everything known from before is forgotten
    /// (RFC 3207 §4.2), including input the client pipelined after the command.
    pub(super) async fn starttls(&mut self) -> Flow {
        if self.tls.is_some() {
            return self.protocol_error(canned::bad_sequence("Already in TLS"));
        }
        let Some(acceptor) = self.shared.tls.clone() else {
            return self.protocol_error(Reply::new(454, [4, 7, 0], "TLS not available"));
        };
        self.reply(&Reply::new(220, [2, 0, 0], "Ready to start TLS"));
        self.flush().await?;
        self.pos = self.len;
        self.receiver = RequestReceiver::default();
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Upgrading) else {
            return Err(Close::Done);
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => self.stream = Stream::Tls(Box::new(tls)),
            Ok(Err(e)) => return Err(Close::Io(e)),
            Err(_) => return Err(Close::Timeout),
        }
        self.shared.counters.tls();
        self.tls = self.stream.tls_description();
        self.helo = None;
        self.esmtp = false;
        self.tx = None;
        self.account = None;
        Ok(())
    }
}
