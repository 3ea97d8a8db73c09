//! One POP3 session: the AUTHORIZATION and TRANSACTION states (RFC 1939) over a
//! (possibly upgraded) connection, and the UPDATE state at QUIT.
//!
//! Input is read into one buffer and taken a line at a time, so pipelined commands
//! (RFC 2449 PIPELINING) are answered in order; replies are collected and written whenever
//! the session is about to wait for input, and a message being sent is written in chunks
//! as it is encoded. Every read waits at most the idle timeout and races the shutdown
//! signal; every write waits at most the idle timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use postdesk_contract::ErrorCode;
use postdesk_contract::mail::{Login, LoginAttempt, LoginRefusal, LoginService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::MAX_LINE;
use crate::limits::Slot;
use crate::maildrop::{INBOX, Maildrop, Missing};
use crate::output::Encoder;
use crate::shared::Shared;
use postdesk_tls::Stream;

/// Read buffer size.
const READ_CHUNK: usize = 8 * 1024;
/// Longest SASL continuation line (base64 of a PLAIN message with a long password).
const MAX_AUTH_LINE: usize = 2048;
/// Bytes of an over-long line dropped before the client is disconnected.
const MAX_GARBAGE: usize = 64 * 1024;
/// Size of the chunks a message is written in.
const WRITE_CHUNK: usize = 64 * 1024;

/// Why a session ends (logged at debug level).
#[derive(Debug)]
enum Close {
    /// QUIT, or we said why and hung up.
    Done,
    /// The client went away.
    Eof,
    /// No input (or no progress writing) within the idle timeout.
    Timeout,
    /// The server is shutting down.
    Shutdown,
    /// A line far too long.
    Garbage,
    /// Read, write or the TLS handshake failed (shown in the debug log).
    Io(#[allow(dead_code)] std::io::Error),
}

type Flow = Result<(), Close>;

/// A line read, or one that was too long (dropped up to its end).
enum Line {
    Text(Vec<u8>),
    TooLong,
}

enum State {
    /// Not logged in; the name given with USER.
    Authorization { user: Option<String> },
    /// Logged in.
    Transaction(Maildrop),
}

pub(crate) struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    stream: Stream,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Dropping an over-long line up to its LF; how much was dropped.
    skipping: Option<usize>,
    out: Vec<u8>,
    state: State,
    errors: u32,
    auth_failures: u32,
    /// The next messages' bytes, being read while the client takes this one (clients RETR
    /// in order): by UID. At most [`READ_AHEAD`] messages and [`READ_AHEAD_BYTES`] ahead.
    ahead: std::collections::VecDeque<(u32, tokio::task::JoinHandle<postdesk_contract::Result<Vec<u8>>>)>,
    _slot: Slot,
}

impl Drop for Session {
    fn drop(&mut self) {
        for (_, read) in self.ahead.drain(..) {
            read.abort();
        }
    }
}

/// Messages read ahead of RETR at most, and their bytes at most (one message is always
/// read ahead whatever its size; each is bounded by the message size limit).
const READ_AHEAD: usize = 8;
const READ_AHEAD_BYTES: u64 = 4 * 1024 * 1024;

/// The AUTH mechanisms offered (over TLS).
const MECHANISMS: &str = "PLAIN";

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, peer: SocketAddr, stream: Stream, slot: Slot) -> Session {
        Session {
            shared,
            peer,
            stream,
            buf: vec![0; READ_CHUNK],
            pos: 0,
            len: 0,
            skipping: None,
            out: Vec::new(),
            state: State::Authorization { user: None },
            errors: 0,
            auth_failures: 0,
            ahead: Default::default(),
            _slot: slot,
        }
    }

    /// Runs the session to its end and closes the connection.
    pub(crate) async fn run(mut self) {
        self.reply("+OK Postdesk POP3 server ready");
        let close = match self.serve().await {
            Ok(()) => Close::Done,
            Err(close) => close,
        };
        tracing::debug!(peer = %self.peer, ?close, "POP3 session ended");
        if !matches!(close, Close::Io(_) | Close::Timeout) {
            let _ = self.flush().await;
        }
        let timeout = self.shared.limits.handshake_timeout;
        let _ = tokio::time::timeout(timeout, self.stream.shutdown()).await;
    }

    async fn serve(&mut self) -> Flow {
        loop {
            match self.read_line(MAX_LINE).await? {
                Line::TooLong => self.protocol_error(&format!("-ERR Line too long (at most {MAX_LINE} octets)"))?,
                Line::Text(line) => self.command(line).await?,
            }
        }
    }

    fn reply(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Counts a bad command and answers it; past the limit, ends the session.
    fn protocol_error(&mut self, reply: &str) -> Flow {
        self.errors += 1;
        if self.errors >= self.shared.limits.max_errors {
            self.reply(&format!("{reply}; too many bad commands, closing connection"));
            return Err(Close::Done);
        }
        self.reply(reply);
        Ok(())
    }

    async fn flush(&mut self) -> Flow {
        if self.out.is_empty() {
            return Ok(());
        }
        let timeout = self.shared.limits.idle_timeout;
        let written = tokio::time::timeout(timeout, async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        })
        .await;
        self.out.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Close::Io(e)),
            Err(_) => Err(Close::Timeout),
        }
    }

    /// Sends the pending replies, then waits for more input (idle timeout, shutdown).
    async fn read_more(&mut self) -> Flow {
        self.flush().await?;
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        let timeout = self.shared.limits.idle_timeout;
        let cancel = self.shared.shutdown.clone();
        let n = tokio::select! {
            r = tokio::time::timeout(timeout, self.stream.read(&mut self.buf[self.len..])) => match r {
                Ok(Ok(0)) => return Err(Close::Eof),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(Close::Io(e)),
                // RFC 1939 §3: the autologout timer closes without a response or an update.
                Err(_) => return Err(Close::Timeout),
            },
            _ = cancel.cancelled() => {
                self.reply("-ERR [SYS/TEMP] The server is shutting down, try again later");
                return Err(Close::Shutdown);
            }
        };
        self.len += n;
        Ok(())
    }

    /// The next line without its CRLF (or LF); a line of more than `max` octets, CRLF
    /// included, is dropped up to its end and reported as [`Line::TooLong`].
    async fn read_line(&mut self, max: usize) -> Result<Line, Close> {
        loop {
            if let Some(i) = self.buf[self.pos..self.len].iter().position(|&b| b == b'\n') {
                let start = self.pos;
                self.pos += i + 1;
                if self.skipping.take().is_some() {
                    return Ok(Line::TooLong);
                }
                let mut line = &self.buf[start..start + i];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                if line.len() + 2 > max {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Text(line.to_vec()));
            }
            let pending = self.len - self.pos;
            if let Some(dropped) = &mut self.skipping {
                *dropped += pending;
                self.pos = self.len;
                if *dropped > MAX_GARBAGE {
                    self.reply("-ERR Line far too long, closing connection");
                    return Err(Close::Garbage);
                }
            } else if pending >= max {
                self.skipping = Some(pending);
                self.pos = self.len;
            }
            self.read_more().await?;
        }
    }

    async fn command(&mut self, line: Vec<u8>) -> Flow {
        let Ok(line) = String::from_utf8(line) else {
            return self.protocol_error("-ERR Commands must be text");
        };
        let (keyword, arg) = match line.split_once(' ') {
            Some((k, a)) => (k, Some(a)),
            None => (line.as_str(), None),
        };
        let keyword = keyword.to_ascii_uppercase();
        let logged_in = matches!(self.state, State::Transaction(_));
        match (keyword.as_str(), logged_in) {
            ("CAPA", _) => self.capa(),
            ("QUIT", _) => return self.quit().await,
            ("STLS" | "USER" | "PASS" | "AUTH" | "APOP", true) => {
                return self.protocol_error("-ERR Already logged in");
            }
            ("STLS", false) => return self.stls().await,
            ("USER", false) => return self.user(arg),
            ("PASS", false) => return self.pass(arg).await,
            ("AUTH", false) => return self.auth(arg).await,
            ("APOP", false) => return self.protocol_error("-ERR APOP is not supported; use USER/PASS or AUTH PLAIN"),
            ("STAT" | "LIST" | "UIDL" | "RETR" | "TOP" | "DELE" | "NOOP" | "RSET", false) => {
                return self.protocol_error("-ERR Log in first");
            }
            ("STAT" | "LIST" | "UIDL" | "RETR" | "TOP" | "DELE" | "NOOP" | "RSET", true) => {
                return self.transaction(&keyword, arg).await;
            }
            _ => return self.protocol_error("-ERR Unknown command"),
        }
        Ok(())
    }

    fn capa(&mut self) {
        let tls = self.stream.is_tls();
        let mut lines =
            vec!["+OK Capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
        if let State::Authorization { .. } = self.state {
            if !tls && self.shared.tls.is_some() {
                lines.push("STLS");
            }
            if tls {
                lines.push("USER");
                lines.push("SASL PLAIN");
            }
        }
        lines.extend(["IMPLEMENTATION Postdesk", "."]);
        for line in lines {
            self.reply(line);
        }
    }

    async fn stls(&mut self) -> Flow {
        if self.stream.is_tls() {
            return self.protocol_error("-ERR Already using TLS");
        }
        let Some(acceptor) = self.shared.tls.clone() else {
            return self.protocol_error("-ERR STLS is not available");
        };
        self.reply("+OK Begin TLS negotiation");
        self.flush().await?;
        // RFC 2595 §4 and the STARTTLS injection attacks: nothing sent in clear before the
        // handshake is read as a command after it.
        self.pos = 0;
        self.len = 0;
        self.skipping = None;
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Upgrading) else {
            unreachable!("checked above: not TLS")
        };
        let handshake = tokio::time::timeout(self.shared.limits.handshake_timeout, acceptor.accept(tcp));
        let cancel = self.shared.shutdown.clone();
        let result = tokio::select! {
            r = handshake => r,
            _ = cancel.cancelled() => return Err(Close::Shutdown),
        };
        match result {
            Ok(Ok(tls)) => {
                self.stream = Stream::Tls(Box::new(tls));
                self.state = State::Authorization { user: None };
                Ok(())
            }
            Ok(Err(e)) => Err(Close::Io(e)),
            Err(_) => Err(Close::Timeout),
        }
    }

    /// Refuses a login command over plain text (and says what to do instead).
    fn require_tls(&mut self) -> Result<bool, Close> {
        if self.stream.is_tls() {
            return Ok(true);
        }
        self.protocol_error("-ERR [SYS/PERM] Logins are accepted only over TLS; use STLS first")?;
        Ok(false)
    }

    fn user(&mut self, arg: Option<&str>) -> Flow {
        if !self.require_tls()? {
            return Ok(());
        }
        let Some(name) = arg.map(str::trim).filter(|n| !n.is_empty()) else {
            return self.protocol_error("-ERR Give your login: USER name");
        };
        self.state = State::Authorization { user: Some(name.to_string()) };
        self.reply("+OK Now send your password with PASS");
        Ok(())
    }

    async fn pass(&mut self, arg: Option<&str>) -> Flow {
        if !self.require_tls()? {
            return Ok(());
        }
        let State::Authorization { user } = &mut self.state else { unreachable!("checked by the caller") };
        let Some(user) = user.take() else {
            return self.protocol_error("-ERR Send USER first");
        };
        // RFC 1939 §7: the password is the rest of the line, spaces and all.
        let password = arg.unwrap_or_default();
        self.login(&user, password).await
    }

    async fn auth(&mut self, arg: Option<&str>) -> Flow {
        if !self.require_tls()? {
            return Ok(());
        }
        let mut args = arg.unwrap_or_default().split(' ').filter(|a| !a.is_empty());
        let Some(mechanism) = args.next() else {
            // The mechanism list (as RFC 1734 servers answered a bare AUTH).
            self.reply("+OK Supported mechanisms follow");
            self.reply(MECHANISMS);
            self.reply(".");
            return Ok(());
        };
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            return self.protocol_error("-ERR Unsupported authentication mechanism; use AUTH PLAIN");
        }
        let initial = args.next().map(str::to_string);
        if args.next().is_some() {
            return self.protocol_error("-ERR Syntax: AUTH PLAIN [initial-response]");
        }
        let response = match initial {
            // RFC 5034 §4: "=" is an empty initial response.
            Some(r) if r == "=" => String::new(),
            Some(r) => r,
            None => {
                self.reply("+ ");
                match self.read_line(MAX_AUTH_LINE).await? {
                    Line::TooLong => return self.auth_refused("-ERR [AUTH] Authentication response too long"),
                    Line::Text(line) => String::from_utf8_lossy(&line).into_owned(),
                }
            }
        };
        if response.trim() == "*" {
            self.reply("-ERR Authentication cancelled");
            return Ok(());
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(response.trim()) else {
            return self.auth_refused("-ERR [AUTH] The authentication response is not valid base64");
        };
        // RFC 4616: [authzid] NUL authcid NUL passwd.
        let mut parts = decoded.split(|&b| b == 0);
        let (Some(authzid), Some(authcid), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.auth_refused("-ERR [AUTH] Malformed PLAIN response");
        };
        let (Ok(authzid), Ok(authcid), Ok(password)) =
            (std::str::from_utf8(authzid), std::str::from_utf8(authcid), std::str::from_utf8(password))
        else {
            return self.auth_refused("-ERR [AUTH] Malformed PLAIN response");
        };
        if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(authcid) {
            return self
                .auth_refused("-ERR [AUTH] You can only log in as yourself (leave the authorization identity empty)");
        }
        let (authcid, password) = (authcid.to_string(), password.to_string());
        self.login(&authcid, &password).await
    }

    /// Counts a failed login and answers it; at the limit, closes the connection.
    fn auth_refused(&mut self, reply: &str) -> Flow {
        self.auth_failures += 1;
        if self.auth_failures >= self.shared.limits.max_auth_failures {
            self.reply(&format!("{reply} (too many failed logins, closing connection)"));
            return Err(Close::Done);
        }
        self.reply(reply);
        Ok(())
    }

    async fn login(&mut self, login: &str, password: &str) -> Flow {
        let attempt = LoginAttempt { login, password, service: LoginService::Pop3, client: self.peer.ip() };
        let account = match self.shared.backend.verify_login(attempt).await {
            Ok(Login::Accepted { address, .. }) => address,
            Ok(Login::Refused(why)) => {
                tracing::debug!(peer = %self.peer, login, reason = why.name(), "POP3 login refused");
                let text = refusal_text(why, self.shared.backend.portal_url());
                return self.auth_refused(&text);
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, "POP3 login could not be checked: {e}");
                self.reply("-ERR [SYS/TEMP] Logins cannot be checked right now, try again later");
                return Ok(());
            }
        };
        let Some(lock) = self.shared.admission.lock_maildrop(&account) else {
            self.reply("-ERR [IN-USE] Another POP3 session has this mailbox open; try again when it ends");
            return Ok(());
        };
        match Maildrop::open(self.shared.backend.as_ref(), account, lock).await {
            Ok(maildrop) => {
                let (n, bytes) = maildrop.stat();
                tracing::debug!(peer = %self.peer, account = %maildrop.account, "POP3 login");
                self.reply(&format!("+OK Logged in, {n} messages ({bytes} octets)"));
                self.state = State::Transaction(maildrop);
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, "POP3 maildrop could not be opened: {e}");
                self.reply("-ERR [SYS/TEMP] Your mailbox cannot be opened right now, try again later");
            }
        }
        Ok(())
    }

    async fn quit(&mut self) -> Flow {
        let State::Transaction(maildrop) = &self.state else {
            self.reply("+OK Postdesk POP3 server signing off");
            return Err(Close::Done);
        };
        match maildrop.update(self.shared.backend.as_ref()).await {
            Ok(removed) => self.reply(&format!("+OK Postdesk POP3 server signing off ({removed} messages deleted)")),
            Err(e) => {
                tracing::warn!(peer = %self.peer, account = %maildrop.account, "POP3 update failed: {e}");
                self.reply("-ERR [SYS/TEMP] Some deleted messages were not removed, try again later");
            }
        }
        Err(Close::Done)
    }

    async fn transaction(&mut self, keyword: &str, arg: Option<&str>) -> Flow {
        let args: Vec<&str> = arg.unwrap_or_default().split(' ').filter(|a| !a.is_empty()).collect();
        let State::Transaction(maildrop) = &mut self.state else { unreachable!("checked by the caller") };
        let reply = match (keyword, args.as_slice()) {
            ("STAT", []) => {
                let (n, bytes) = maildrop.stat();
                format!("+OK {n} {bytes}")
            }
            ("NOOP", []) => "+OK".to_string(),
            ("RSET", []) => {
                maildrop.reset();
                let (n, bytes) = maildrop.stat();
                format!("+OK Maildrop has {n} messages ({bytes} octets)")
            }
            ("LIST", []) | ("UIDL", []) => {
                let (n, bytes) = maildrop.stat();
                let mut lines = vec![format!("+OK {n} messages ({bytes} octets)")];
                for (i, entry) in maildrop.live() {
                    lines.push(match keyword {
                        "LIST" => format!("{i} {}", entry.size),
                        _ => format!("{i} {}", maildrop.unique_id(entry)),
                    });
                }
                lines.push(".".into());
                lines.join("\r\n")
            }
            ("LIST" | "UIDL" | "DELE" | "RETR", [n]) | ("TOP", [n, _]) => {
                let Some(n) = message_number(n) else {
                    return self.protocol_error("-ERR Give a message number");
                };
                let entry = match maildrop.get(n) {
                    Ok(entry) => entry,
                    Err(Missing::NoSuchMessage) => {
                        self.reply("-ERR No such message");
                        return Ok(());
                    }
                    Err(Missing::Deleted) => {
                        self.reply(&format!("-ERR Message {n} is deleted"));
                        return Ok(());
                    }
                };
                match keyword {
                    "LIST" => format!("+OK {n} {}", entry.size),
                    "UIDL" => format!("+OK {n} {}", maildrop.unique_id(entry)),
                    "DELE" => {
                        maildrop.delete(n).expect("checked above");
                        format!("+OK Message {n} deleted")
                    }
                    _ => {
                        let lines = match args.as_slice() {
                            [_, lines] => match count(lines) {
                                Some(lines) => Some(lines),
                                None => return self.protocol_error("-ERR Syntax: TOP message lines"),
                            },
                            _ => None,
                        };
                        return self.send_message(n, lines).await;
                    }
                }
            }
            _ => return self.protocol_error(&format!("-ERR Syntax error in {keyword}")),
        };
        self.reply(&reply);
        Ok(())
    }

    /// RETR (`top` = None) or TOP: reads the message once and writes it in chunks.
    async fn send_message(&mut self, n: usize, top: Option<u64>) -> Flow {
        let State::Transaction(maildrop) = &self.state else { unreachable!("checked by the caller") };
        let entry = maildrop.get(n).expect("checked by the caller");
        // Reads queued for messages before this one are not wanted any more.
        while self.ahead.front().is_some_and(|(uid, _)| *uid < entry.uid) {
            if let Some((_, read)) = self.ahead.pop_front() {
                read.abort();
            }
        }
        let queued = match self.ahead.front() {
            Some((uid, _)) if *uid == entry.uid => self.ahead.pop_front().map(|(_, read)| read),
            _ => None,
        };
        let read = match queued {
            Some(read) => read.await.ok(),
            None => None,
        };
        let read = match read {
            Some(read) => read,
            None => self.shared.backend.message_bytes(&maildrop.account, INBOX, entry.uid).await,
        };
        if top.is_none() {
            // Keep the window full: the messages after the last one queued (or this one).
            let mut next = n + 1;
            if let Some((last, _)) = self.ahead.back() {
                next = maildrop.number_of(*last).map_or(next, |k| k + 1);
            }
            let mut bytes: u64 = self.ahead.iter().filter_map(|(u, _)| maildrop.size_of(*u)).sum();
            while self.ahead.len() < READ_AHEAD {
                let Ok(e) = maildrop.get(next) else { break };
                if bytes + e.size > READ_AHEAD_BYTES && !self.ahead.is_empty() {
                    break;
                }
                bytes += e.size;
                let (backend, account, uid) = (self.shared.backend.clone(), maildrop.account.clone(), e.uid);
                self.ahead
                    .push_back((uid, tokio::spawn(async move { backend.message_bytes(&account, INBOX, uid).await })));
                next += 1;
            }
        }
        let raw = match read {
            Ok(raw) => raw,
            Err(e) if e.code == ErrorCode::NotFound => {
                self.reply(&format!("-ERR Message {n} is no longer in the mailbox"));
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, account = %maildrop.account, "POP3 message could not be read: {e}");
                self.reply("-ERR [SYS/TEMP] The message cannot be read right now, try again later");
                return Ok(());
            }
        };
        let mut encoder = match top {
            None => {
                self.reply(&format!("+OK {} octets", raw.len()));
                Encoder::message(&raw)
            }
            Some(lines) => {
                self.reply("+OK Top of message follows");
                Encoder::top(&raw, lines)
            }
        };
        while encoder.fill(&mut self.out, WRITE_CHUNK) {
            self.flush().await?;
        }
        self.reply(".");
        if top.is_none()
            && let State::Transaction(maildrop) = &mut self.state
        {
            maildrop.retrieved(n);
        }
        Ok(())
    }
}

/// What the client is told for each refusal: what happened and what the user can do (for a
/// password to change: where the user portal is, when it is served).
fn refusal_text(why: LoginRefusal, portal_url: Option<String>) -> String {
    match why {
        LoginRefusal::WrongCredentials => "-ERR [AUTH] Authentication failed".into(),
        LoginRefusal::Locked => {
            "-ERR [AUTH] This account is locked; ask your administrator to unlock it or reset its password".into()
        }
        LoginRefusal::Disabled => "-ERR [AUTH] This account is disabled; ask your administrator".into(),
        LoginRefusal::ServiceDisabled => "-ERR [AUTH] POP3 is switched off for this account".into(),
        LoginRefusal::PasswordChangeRequired => format!(
            "-ERR [AUTH] You must change your password first: sign in to the Postdesk user portal{}, set a new password, then log in with it",
            portal_url.map(|u| format!(" at {u}")).unwrap_or_default()
        ),
    }
}

/// A message number: decimal digits, not zero.
fn message_number(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&n| n > 0)
}

/// A line count for TOP: decimal digits; huge counts mean "all of it".
fn count(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strict() {
        assert_eq!(message_number("1"), Some(1));
        assert_eq!(message_number("0"), None);
        assert_eq!(message_number("+1"), None);
        assert_eq!(message_number("-1"), None);
        assert_eq!(message_number("99999999999"), None);
        assert_eq!(count("0"), Some(0));
        assert_eq!(count("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(count("x"), None);
    }
}
