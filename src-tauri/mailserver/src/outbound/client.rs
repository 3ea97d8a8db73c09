//! One SMTP transaction to one remote address, with `mail-send`'s client for the
//! protocol: greeting, EHLO (HELO when EHLO is refused), opportunistic STARTTLS (RFC 3207;
//! the certificate is not checked, as RFC 7435 allows when nothing asks for more), then
//! MAIL FROM with SIZE, BODY=8BITMIME and SMTPUTF8 where offered and needed, the RCPTs
//! pipelined when PIPELINING is offered (RFC 2920), DATA, QUIT. Every step has a time-out.

use std::net::SocketAddr;
use std::time::Duration;

use mail_send::SmtpClient;
use smtp_proto::{EXT_8BIT_MIME, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8, EXT_START_TLS, EhloResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

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

fn err_text(e: mail_send::Error) -> String {
    match e {
        mail_send::Error::UnexpectedReply(r) => reply_text(&r),
        mail_send::Error::Timeout => "time-out waiting for the remote server".into(),
        other => other.to_string(),
    }
}

/// Runs one transaction with the server at `addr` (`tls_name`: the name its certificate
/// would carry). `Err` when no transaction took place (cannot connect, refused greeting,
/// TLS failure): the caller tries the next address; otherwise one outcome per recipient.
pub async fn deliver(
    addr: SocketAddr,
    tls_name: &str,
    t: &Transaction<'_>,
    timeouts: Timeouts,
    try_tls: bool,
) -> Result<Vec<Outcome>, SessionError> {
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
    let ehlo = hello(&mut client, t.helo).await?;
    if try_tls && ehlo.has_capability(EXT_START_TLS) {
        let connector = mail_send::smtp::tls::build_tls_connector(true);
        let name = tls_name.trim_start_matches('[').trim_end_matches(']');
        let mut client = client.start_tls(&connector, name).await.map_err(|e| SessionError::Tls(err_text(e)))?;
        let ehlo = hello(&mut client, t.helo).await?;
        Ok(transact(&mut client, &ehlo, t, timeouts).await)
    } else {
        Ok(transact(&mut client, &ehlo, t, timeouts).await)
    }
}

/// Why no transaction took place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// Connecting, the greeting or EHLO failed.
    Connect(String),
    /// STARTTLS was offered but failed: the caller may try again without it.
    Tls(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Connect(s) => f.write_str(s),
            SessionError::Tls(s) => write!(f, "STARTTLS failed: {s}"),
        }
    }
}

async fn hello<T: AsyncRead + AsyncWrite + Unpin>(
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

async fn transact<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    ehlo: &EhloResponse<String>,
    t: &Transaction<'_>,
    timeouts: Timeouts,
) -> Vec<Outcome> {
    let n = t.recipients.len();
    let lost = |what: String| vec![Outcome::Temporary(format!("connection lost: {what}")); n];
    let utf8 = !t.sender.is_ascii() || t.recipients.iter().any(|r| !r.is_ascii());
    if utf8 && !ehlo.has_capability(EXT_SMTP_UTF8) {
        let _ = client.cmd("QUIT\r\n").await;
        return vec![Outcome::Permanent("553 5.6.7 the remote server does not offer SMTPUTF8 (RFC 6531)".into()); n];
    }
    let size = t.message.len();
    if ehlo.size > 0 && size > ehlo.size {
        let _ = client.cmd("QUIT\r\n").await;
        return vec![
            Outcome::Permanent(format!(
                "552 5.3.4 message of {size} bytes exceeds the remote limit {}",
                ehlo.size
            ));
            n
        ];
    }
    let mut mail = format!("MAIL FROM:<{}>", t.sender);
    if ehlo.has_capability(EXT_SIZE) {
        mail.push_str(&format!(" SIZE={size}"));
    }
    if ehlo.has_capability(EXT_8BIT_MIME) && !t.message.is_ascii() {
        mail.push_str(" BODY=8BITMIME");
    }
    if utf8 {
        mail.push_str(" SMTPUTF8");
    }
    mail.push_str("\r\n");
    let rcpts: Vec<String> = t.recipients.iter().map(|r| format!("RCPT TO:<{r}>\r\n")).collect();
    let replies = if ehlo.has_capability(EXT_PIPELINING) {
        match client.cmds(std::iter::once(mail).chain(rcpts)).await {
            Ok(r) => r,
            Err(e) => return lost(err_text(e)),
        }
    } else {
        let mut replies = Vec::with_capacity(n + 1);
        for cmd in std::iter::once(mail).chain(rcpts) {
            match client.cmd(cmd).await {
                Ok(r) => {
                    let stop = replies.is_empty() && r.code / 100 != 2;
                    replies.push(r);
                    if stop {
                        break;
                    }
                }
                Err(e) => return lost(err_text(e)),
            }
        }
        replies
    };
    let mail_reply = &replies[0];
    if mail_reply.code / 100 != 2 {
        let _ = client.cmd("QUIT\r\n").await;
        return all(n, mail_reply);
    }
    let mut outcomes: Vec<Option<Outcome>> =
        replies[1..].iter().map(|r| if r.code / 100 == 2 { None } else { Some(classify(r)) }).collect();
    outcomes.resize(n, Some(Outcome::Temporary("no reply to RCPT".into())));
    let accepted = outcomes.iter().filter(|o| o.is_none()).count();
    if accepted == 0 {
        let _ = client.cmd("QUIT\r\n").await;
        return outcomes.into_iter().map(Option::unwrap_or_else_temp).collect();
    }
    let data = match client.cmd("DATA\r\n").await {
        Ok(r) => r,
        Err(e) => return lost(err_text(e)),
    };
    let final_reply = if data.code == 354 {
        let sent = tokio::time::timeout(timeouts.data, async {
            write_dot_stuffed(&mut client.stream, t.message).await.map_err(mail_send::Error::Io)?;
            client.read().await
        })
        .await;
        match sent {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return fill(outcomes, Outcome::Temporary(format!("connection lost: {}", err_text(e)))),
            Err(_) => return fill(outcomes, Outcome::Temporary("time-out sending the message".into())),
        }
    } else {
        data
    };
    let _ = client.cmd("QUIT\r\n").await;
    fill(outcomes, classify(&final_reply))
}

/// Recipients accepted at RCPT get the outcome of the message.
fn fill(outcomes: Vec<Option<Outcome>>, outcome: Outcome) -> Vec<Outcome> {
    outcomes.into_iter().map(|o| o.unwrap_or_else(|| outcome.clone())).collect()
}

trait UnwrapTemp {
    fn unwrap_or_else_temp(self) -> Outcome;
}
impl UnwrapTemp for Option<Outcome> {
    fn unwrap_or_else_temp(self) -> Outcome {
        self.unwrap_or_else(|| Outcome::Temporary("not sent".into()))
    }
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
