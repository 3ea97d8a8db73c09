//! SMTP sessions with remote servers, with `mail-send`'s client for the protocol:
//! greeting, EHLO (HELO when EHLO is refused), STARTTLS (RFC 3207) per [`TlsMode`] —
//! opportunistic with the certificate not checked, as RFC 7435 allows when nothing asks for
//! more, or required and verified where an MTA-STS policy says so — then transactions: MAIL
//! FROM with SIZE, BODY=8BITMIME and SMTPUTF8 where offered and needed, the RCPTs and DATA
//! pipelined when PIPELINING is offered (RFC 2920), the message. A [`Session`] carries
//! several transactions one after the other (RSET before each after the first), so the
//! worker can keep it open for the next message to the same server. Every step has a
//! time-out.

use std::net::SocketAddr;
use std::time::Duration;

use mail_send::SmtpClient;
use smtp_proto::{EXT_8BIT_MIME, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8, EXT_START_TLS, EhloResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// What became of one recipient in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 250 after DATA: the remote has it.
    Delivered(String),
    /// A 4xx (or a connection lost): try again later.
    Temporary(String),
    /// A 5xx: bounce.
    Permanent(String),
}

/// Time-outs of a session.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting (TCP) and the TLS handshake.
    pub connect: Duration,
    /// Each command's reply (RFC 5321 §4.5.3.2 suggests minutes; we use less).
    pub command: Duration,
    /// Sending the message and its final reply.
    pub data: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(30), command: Duration::from_secs(120), data: Duration::from_secs(600) }
    }
}

/// One transaction's envelope and message.
pub struct Transaction<'a> {
    /// The EHLO name.
    pub helo: &'a str,
    /// The envelope sender ('' for the null sender).
    pub sender: &'a str,
    /// The recipients (all of one domain).
    pub recipients: &'a [String],
    /// The message as it goes out (signed).
    pub message: &'a [u8],
}

/// A reply as one line: `550 5.1.1 no such user`.
pub fn reply_text(r: &Response<String>) -> String {
    let text = r.message.split_whitespace().collect::<Vec<_>>().join(" ");
    if r.esc[0] != 0 {
        let esc = format!("{}.{}.{}", r.esc[0], r.esc[1], r.esc[2]);
        // mail-send keeps the enhanced code in the message too on some servers.
        let text = text.strip_prefix(&esc).map(str::trim_start).unwrap_or(&text).to_string();
        format!("{} {esc} {text}", r.code)
    } else {
        format!("{} {text}", r.code)
    }
}

pub(crate) fn err_text(e: mail_send::Error) -> String {
    match e {
        mail_send::Error::UnexpectedReply(r) => reply_text(&r),
        mail_send::Error::Timeout => "time-out waiting for the remote server".into(),
        other => other.to_string(),
    }
}

/// How a session asks for TLS.
#[derive(Clone)]
pub enum TlsMode {
    /// STARTTLS when offered, the certificate not checked (RFC 7435); plain text when not
    /// offered. A failed handshake is [`SessionError::Tls`]: the caller may go on in plain text.
    Opportunistic,
    /// Plain text even when STARTTLS is offered (after a failed opportunistic handshake).
    Plain,
    /// STARTTLS required, with a certificate valid for the host name under these roots
    /// (MTA-STS `enforce`, RFC 8461 §4.2): anything less is [`SessionError::TlsRequired`].
    Verified(tokio_rustls::TlsConnector),
}

impl TlsMode {
    /// Its name in the connection cache's key: a session is reused only under the same mode.
    pub fn kind(&self) -> &'static str {
        match self {
            TlsMode::Opportunistic => "opportunistic",
            TlsMode::Plain => "plain",
            TlsMode::Verified(_) => "verified",
        }
    }
}

impl std::fmt::Debug for TlsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

enum Stream {
    Plain(SmtpClient<TcpStream>),
    Tls(Box<SmtpClient<TlsStream<TcpStream>>>),
}

/// An open SMTP session with one server, past EHLO (and STARTTLS): it carries transactions
/// one after the other (RFC 5321 §4.1.4: RSET between them) until it is closed.
pub struct Session {
    stream: Stream,
    ehlo: EhloResponse<String>,
    /// Transactions this session has carried.
    pub transactions: u32,
    /// Whether the session is encrypted.
    pub tls: bool,
    /// Set when the session must not carry another transaction (connection lost, time-out,
    /// 421).
    pub broken: bool,
    /// When it was opened.
    pub opened: std::time::Instant,
}

/// Why a reused session carried no transaction: it was closed meanwhile (or the server no
/// longer answers RSET); the caller opens a new one, and nothing counts as an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale(pub String);

/// Opens a session with the server at `addr` (`tls_name`: the name its certificate would
/// carry): greeting, EHLO (HELO if refused), STARTTLS per `mode`, EHLO again. `Err` when
/// no session came of it: the caller tries the next address.
pub async fn open(
    addr: SocketAddr,
    tls_name: &str,
    helo: &str,
    timeouts: Timeouts,
    mode: &TlsMode,
) -> Result<Session, SessionError> {
    let mut client =
        SmtpClient::connect(addr, timeouts.connect).await.map_err(|e| SessionError::Connect(err_text(e)))?;
    client.timeout = timeouts.command;
    let greeting = tokio::time::timeout(timeouts.command, client.read())
        .await
        .map_err(|_| SessionError::Connect("time-out waiting for the greeting".into()))?
        .map_err(|e| SessionError::Connect(err_text(e)))?;
    if greeting.code != 220 {
        return Err(SessionError::Connect(reply_text(&greeting)));
    }
    let ehlo = hello(&mut client, helo).await?;
    let name = tls_name.trim_start_matches('[').trim_end_matches(']');
    let connector = match mode {
        TlsMode::Plain => None,
        TlsMode::Opportunistic if !ehlo.has_capability(EXT_START_TLS) => None,
        TlsMode::Opportunistic => Some((mail_send::smtp::tls::build_tls_connector(true), false)),
        TlsMode::Verified(_) if !ehlo.has_capability(EXT_START_TLS) => {
            let _ = client.cmd("QUIT\r\n").await;
            return Err(SessionError::TlsRequired(format!("{name} does not offer STARTTLS")));
        }
        TlsMode::Verified(connector) => Some((connector.clone(), true)),
    };
    let opened = std::time::Instant::now();
    let Some((connector, required)) = connector else {
        return Ok(Session { stream: Stream::Plain(client), ehlo, transactions: 0, tls: false, broken: false, opened });
    };
    let mut client = client.start_tls(&connector, name).await.map_err(|e| {
        let text = err_text(e);
        if required {
            SessionError::TlsRequired(format!("TLS with {name} failed: {text}"))
        } else {
            SessionError::Tls(text)
        }
    })?;
    let ehlo = hello(&mut client, helo).await?;
    Ok(Session { stream: Stream::Tls(Box::new(client)), ehlo, transactions: 0, tls: true, broken: false, opened })
}

impl Session {
    /// Runs one transaction: one outcome per recipient. On a session that carried one
    /// before (`reused`), a `Stale` error when it turns out closed before anything was
    /// said about this transaction.
    pub async fn send(&mut self, t: &Transaction<'_>, timeouts: Timeouts) -> Result<Vec<Outcome>, Stale> {
        let reused = self.transactions > 0;
        let result = match &mut self.stream {
            Stream::Plain(c) => transact(c, &self.ehlo, t, timeouts, reused).await,
            Stream::Tls(c) => transact(c, &self.ehlo, t, timeouts, reused).await,
        };
        match result {
            Ok((outcomes, keep)) => {
                self.transactions += 1;
                self.broken |= !keep;
                Ok(outcomes)
            }
            Err(stale) => {
                self.broken = true;
                Err(stale)
            }
        }
    }

    /// Says QUIT (briefly: the other side may be gone) and closes.
    pub async fn quit(mut self) {
        let bye = async {
            match &mut self.stream {
                Stream::Plain(c) => c.cmd("QUIT\r\n").await.map(drop),
                Stream::Tls(c) => c.cmd("QUIT\r\n").await.map(drop),
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), bye).await;
    }
}

/// Runs one transaction on a new session and closes it (`Err` as for [`open`]).
pub async fn deliver(
    addr: SocketAddr,
    tls_name: &str,
    t: &Transaction<'_>,
    timeouts: Timeouts,
    mode: &TlsMode,
) -> Result<Vec<Outcome>, SessionError> {
    let mut session = open(addr, tls_name, t.helo, timeouts, mode).await?;
    let outcomes = session.send(t, timeouts).await.map_err(|Stale(e)| SessionError::Connect(e))?;
    session.quit().await;
    Ok(outcomes)
}

/// Why no transaction took place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// Connecting, the greeting or EHLO failed.
    Connect(String),
    /// STARTTLS was offered but failed: the caller may try again without it.
    Tls(String),
    /// TLS was required (MTA-STS) and not offered, or the certificate did not verify: no
    /// plain-text fallback.
    TlsRequired(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Connect(s) => f.write_str(s),
            SessionError::Tls(s) => write!(f, "STARTTLS failed: {s}"),
            SessionError::TlsRequired(s) => write!(f, "TLS required by MTA-STS: {s}"),
        }
    }
}

pub(crate) async fn hello<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    helo: &str,
) -> Result<EhloResponse<String>, SessionError> {
    match client.ehlo(helo).await {
        Ok(ehlo) => Ok(ehlo),
        Err(mail_send::Error::UnexpectedReply(_)) => {
            let r = client.cmd(format!("HELO {helo}\r\n")).await.map_err(|e| SessionError::Connect(err_text(e)))?;
            if r.code / 100 != 2 {
                return Err(SessionError::Connect(reply_text(&r)));
            }
            Ok(EhloResponse {
                hostname: String::new(),
                capabilities: 0,
                auth_mechanisms: 0,
                deliver_by: 0,
                future_release_interval: 0,
                future_release_datetime: 0,
                mt_priority: Default::default(),
                no_soliciting: None,
                size: 0,
            })
        }
        Err(e) => Err(SessionError::Connect(err_text(e))),
    }
}

/// The outcome of a reply for every recipient still pending.
fn all(n: usize, r: &Response<String>) -> Vec<Outcome> {
    vec![classify(r); n]
}

fn classify(r: &Response<String>) -> Outcome {
    match r.code / 100 {
        2 => Outcome::Delivered(reply_text(r)),
        5 => Outcome::Permanent(reply_text(r)),
        _ => Outcome::Temporary(reply_text(r)),
    }
}

/// The MAIL FROM command with the parameters the message needs and the server offers
/// (SIZE, RFC 1870; BODY=8BITMIME, RFC 6152; SMTPUTF8, RFC 6531).
fn mail_from(ehlo: &EhloResponse<String>, t: &Transaction<'_>, utf8: bool) -> String {
    let mut mail = format!("MAIL FROM:<{}>", t.sender);
    if ehlo.has_capability(EXT_SIZE) {
        mail.push_str(&format!(" SIZE={}", t.message.len()));
    }
    if ehlo.has_capability(EXT_8BIT_MIME) && !t.message.is_ascii() {
        mail.push_str(" BODY=8BITMIME");
    }
    if utf8 {
        mail.push_str(" SMTPUTF8");
    }
    mail.push_str("\r\n");
    mail
}

/// One transaction: the outcomes and whether the session may carry another; `Err` when a
/// reused session turns out closed before its RSET was answered.
pub(crate) async fn transact<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    ehlo: &EhloResponse<String>,
    t: &Transaction<'_>,
    timeouts: Timeouts,
    reused: bool,
) -> Result<(Vec<Outcome>, bool), Stale> {
    let n = t.recipients.len();
    let lost = |what: String| Ok((vec![Outcome::Temporary(format!("connection lost: {what}")); n], false));
    let utf8 = !t.sender.is_ascii() || t.recipients.iter().any(|r| !r.is_ascii());
    if utf8 && !ehlo.has_capability(EXT_SMTP_UTF8) {
        let refused = Outcome::Permanent("553 5.6.7 the remote server does not offer SMTPUTF8 (RFC 6531)".into());
        return Ok((vec![refused; n], true));
    }
    let size = t.message.len();
    if ehlo.size > 0 && size > ehlo.size {
        let refused =
            Outcome::Permanent(format!("552 5.3.4 message of {size} bytes exceeds the remote limit {}", ehlo.size));
        return Ok((vec![refused; n], true));
    }
    let pipelining = ehlo.has_capability(EXT_PIPELINING);
    // A reused session is reset first (RFC 5321 §4.1.1.5); its answer tells whether the
    // server is still there. Pipelined with the transaction where the server allows.
    if reused && !pipelining {
        match client.cmd("RSET\r\n").await {
            Ok(r) if r.code / 100 == 2 => {}
            Ok(r) => return Err(Stale(reply_text(&r))),
            Err(e) => return Err(Stale(err_text(e))),
        }
    }
    let mail = mail_from(ehlo, t, utf8);
    let rcpts = t.recipients.iter().map(|r| format!("RCPT TO:<{r}>\r\n"));
    let (mail_reply, rcpt_replies, data_reply) = if pipelining {
        // RSET, MAIL, RCPT… and DATA in one group (RFC 2920 §3.1: DATA may end it).
        let rset = reused.then(|| "RSET\r\n".to_string());
        let cmds: Vec<String> =
            rset.into_iter().chain(std::iter::once(mail)).chain(rcpts).chain(["DATA\r\n".into()]).collect();
        let mut replies = match client.cmds(cmds).await {
            Ok(r) => r,
            Err(e) if reused => return Err(Stale(err_text(e))),
            Err(e) => return lost(err_text(e)),
        };
        if reused {
            let rset = replies.remove(0);
            if rset.code / 100 != 2 {
                return Err(Stale(reply_text(&rset)));
            }
        }
        let data = replies.pop();
        let mail = replies.remove(0);
        (mail, replies, data)
    } else {
        let mail = match client.cmd(mail).await {
            Ok(r) => r,
            Err(e) => return lost(err_text(e)),
        };
        let mut replies = Vec::with_capacity(n);
        if mail.code / 100 == 2 {
            for cmd in rcpts {
                match client.cmd(cmd).await {
                    Ok(r) => replies.push(r),
                    Err(e) => return lost(err_text(e)),
                }
            }
        }
        (mail, replies, None)
    };
    if mail_reply.code / 100 != 2 {
        // A DATA pipelined after a refused MAIL is refused too; should it say 354, end it.
        if data_reply.as_ref().is_some_and(|d| d.code == 354) && end_empty(client).await.is_err() {
            return Ok((all(n, &mail_reply), false));
        }
        return Ok((all(n, &mail_reply), mail_reply.code != 421));
    }
    let mut outcomes: Vec<Option<Outcome>> =
        rcpt_replies.iter().map(|r| if r.code / 100 == 2 { None } else { Some(classify(r)) }).collect();
    outcomes.resize(n, Some(Outcome::Temporary("no reply to RCPT".into())));
    let accepted = outcomes.iter().filter(|o| o.is_none()).count();
    if accepted == 0 {
        let keep = match data_reply {
            Some(d) if d.code == 354 => end_empty(client).await.is_ok(),
            _ => true,
        };
        let outcomes = outcomes.into_iter().map(|o| o.unwrap_or_else(|| Outcome::Temporary("not sent".into())));
        return Ok((outcomes.collect(), keep));
    }
    let data = match data_reply {
        Some(r) => r,
        None => match client.cmd("DATA\r\n").await {
            Ok(r) => r,
            Err(e) => return lost(err_text(e)),
        },
    };
    if data.code != 354 {
        return Ok((fill(outcomes, classify(&data)), data.code != 421));
    }
    let sent = tokio::time::timeout(timeouts.data, async {
        write_dot_stuffed(&mut client.stream, t.message).await.map_err(mail_send::Error::Io)?;
        client.read().await
    })
    .await;
    let final_reply = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Ok((fill(outcomes, Outcome::Temporary(format!("connection lost: {}", err_text(e)))), false));
        }
        Err(_) => return Ok((fill(outcomes, Outcome::Temporary("time-out sending the message".into())), false)),
    };
    Ok((fill(outcomes, classify(&final_reply)), final_reply.code != 421))
}

/// Ends a DATA the server accepted although no recipient was (RFC 2920 §3.1): an empty
/// message, whose reply is read and ignored.
async fn end_empty<T: AsyncRead + AsyncWrite + Unpin>(client: &mut SmtpClient<T>) -> Result<(), ()> {
    client.cmd(".\r\n").await.map(drop).map_err(drop)
}

/// Recipients accepted at RCPT get the outcome of the message.
fn fill(outcomes: Vec<Option<Outcome>>, outcome: Outcome) -> Vec<Outcome> {
    outcomes.into_iter().map(|o| o.unwrap_or_else(|| outcome.clone())).collect()
}

/// Writes the message with RFC 5321 §4.5.2 dot-stuffing and the final `.` line (after a
/// CRLF the message ends with, or one added).
async fn write_dot_stuffed<W: AsyncWrite + Unpin>(w: &mut W, message: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    w.write_all(&out).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dot_stuffing_doubles_leading_dots_and_ends_once() {
        let mut out = Vec::new();
        write_dot_stuffed(&mut out, b"Subject: x\r\n\r\n.hidden\r\n..\r\nend\r\n").await.unwrap();
        assert_eq!(out, b"Subject: x\r\n\r\n..hidden\r\n...\r\nend\r\n.\r\n");
        let mut out = Vec::new();
        write_dot_stuffed(&mut out, b"no newline").await.unwrap();
        assert_eq!(out, b"no newline\r\n.\r\n");
    }

    #[test]
    fn replies_read_as_one_line() {
        let r = Response { code: 550, esc: [5, 1, 1], message: "5.1.1 no such\n user".to_string() };
        assert_eq!(reply_text(&r), "550 5.1.1 no such user");
        let r = Response { code: 451, esc: [0, 0, 0], message: "later".to_string() };
        assert_eq!(reply_text(&r), "451 later");
        assert_eq!(classify(&r), Outcome::Temporary("451 later".into()));
    }
}
