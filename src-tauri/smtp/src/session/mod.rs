//! One SMTP session: the state machine over a (possibly upgraded) connection.
//!
//! Input is read into one buffer and parsed with smtp-proto's receivers, so pipelined
//! commands (RFC 2920) are handled in order from the same buffer; replies are collected and
//! written in one go whenever the session is about to wait for input, or has just answered
//! the end of a message. Every read has a timeout (RFC 5321 §4.5.3.2) and races the
//! shutdown signal; a session that errs too often is disconnected.

mod auth;
mod commands;
mod data;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::Request;
use smtp_proto::request::receiver::RequestReceiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{ListenerKind, SmtpProfile};
use crate::counters::{Refusal, RefusalStage};
use crate::directory::Account;
use crate::limits::ConnectionSlot;
use crate::policy::{PolicyRequest, Stage, Verdict};
use crate::reply::{Reply, canned};
use crate::shared::Shared;
use postdesk_tls::Stream;

/// Read buffer size; smtp-proto's receivers consume whatever is in it.
const READ_CHUNK: usize = 64 * 1024;
/// Longest command line accepted.
const MAX_COMMAND_LINE: usize = 4096;
/// Longest AUTH continuation line accepted.
const MAX_AUTH_LINE: usize = 12 * 1024;

/// Why a session ends (logged at debug level).
#[derive(Debug)]
pub(crate) enum Close {
    /// QUIT, or we sent a 421/554 and hung up.
    Done,
    /// The client went away.
    Eof,
    /// No input within the timeout.
    Timeout,
    /// The server is shutting down.
    Shutdown,
    /// Read or write failed (shown in the debug log).
    Io(#[allow(dead_code)] std::io::Error),
}

type Flow = Result<(), Close>;

/// The mail transaction between MAIL and the end of DATA/BDAT LAST.
#[derive(Debug, Default)]
pub(crate) struct Transaction {
    pub mail_from: String,
    pub size_hint: usize,
    pub sender_is_local: bool,
    /// A white-list rule let this transaction through.
    pub allowed: bool,
    /// A discard rule matched; the message is answered 250 and dropped.
    pub discard: Option<String>,
    pub recipients: Vec<String>,
    /// RCPT commands answered 250 (duplicates and discarded ones included): the number
    /// the recipient limit applies to.
    pub rcpt_accepted: usize,
    /// Recipients answered 250 but dropped by a discard rule.
    pub discarded_recipients: usize,
    pub spf: Option<mail_auth::SpfOutput>,
    /// BDAT chunks received so far (memory while small, then a temporary file).
    pub body: Option<crate::store::incoming::Incoming>,
    /// A BDAT chunk overflowed the size limit; further chunks are swallowed.
    pub bdat_failed: bool,
}

pub(crate) struct Session {
    shared: Arc<Shared>,
    /// The profile this session runs under: taken at connect, and again at each MAIL FROM
    /// so that a replaced profile applies from the next transaction.
    profile: Arc<SmtpProfile>,
    /// The stage of the command being handled, for the refusal log.
    stage: RefusalStage,
    /// The sender of the MAIL FROM being handled (or of the transaction being ended, when
    /// it is refused at DATA), for the refusal log.
    cmd_sender: Option<String>,
    /// The recipient of the RCPT TO being handled, for the refusal log.
    cmd_rcpt: Option<String>,
    /// The recipients of the transaction being ended (the end of DATA), for the trace.
    data_recipients: Vec<String>,
    kind: ListenerKind,
    peer: SocketAddr,
    stream: Stream,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    out: Vec<u8>,
    receiver: RequestReceiver,
    helo: Option<String>,
    esmtp: bool,
    tls: Option<String>,
    account: Option<Account>,
    reverse_name: Option<String>,
    errors: u32,
    auth_failures: u32,
    /// A connect-stage white-list rule matched.
    session_allowed: bool,
    /// A connect-stage discard rule matched.
    session_discard: Option<String>,
    tx: Option<Transaction>,
    /// After an over-long line: input is dropped up to the next LF.
    skip_line: bool,
    /// When the command being read must be complete: the command time-out runs over the
    /// whole command, so a client trickling a byte at a time cannot hold the session.
    command_deadline: Option<tokio::time::Instant>,
    /// Unknown recipients tried in this session (recipient probing).
    unknown_recipients: u32,
    _slot: ConnectionSlot,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        profile: Arc<SmtpProfile>,
        kind: ListenerKind,
        peer: SocketAddr,
        stream: Stream,
        slot: ConnectionSlot,
    ) -> Session {
        let tls = stream.tls_description();
        Session {
            shared,
            profile,
            stage: RefusalStage::Connect,
            cmd_sender: None,
            cmd_rcpt: None,
            data_recipients: Vec::new(),
            kind,
            peer,
            stream,
            buf: vec![0; READ_CHUNK],
            pos: 0,
            len: 0,
            out: Vec::with_capacity(1024),
            receiver: RequestReceiver::default(),
            helo: None,
            esmtp: false,
            tls,
            account: None,
            reverse_name: None,
            errors: 0,
            auth_failures: 0,
            session_allowed: false,
            session_discard: None,
            tx: None,
            skip_line: false,
            command_deadline: None,
            unknown_recipients: 0,
            _slot: slot,
        }
    }

    /// Runs the session to its end.
    pub(crate) async fn run(mut self) {
        let result = match self.connect().await {
            Ok(()) => self.command_loop().await,
            Err(close) => Err(close),
        };
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
        if let Err(close) = result {
            tracing::debug!(peer = %self.peer, listener = self.kind.name(), "session ended: {close:?}");
        }
    }

    fn hostname(&self) -> &str {
        &self.profile.hostname
    }

    pub(crate) fn reply(&mut self, reply: &Reply) {
        reply.write_to(&mut self.out);
    }

    /// Replies with a refusal, counts it under `rule` and logs it.
    pub(crate) fn refuse(&mut self, reply: &Reply, rule: &str) {
        self.record_refusal(reply, rule);
        self.reply(reply);
    }

    /// The directory failed (database down): logged, and refused with a 451 the client
    /// retries.
    pub(crate) fn directory_failed(&mut self, e: &crate::directory::DirectoryError) {
        tracing::warn!("directory: {e}");
        self.refuse(&crate::reply::canned::lookup_failure(), "directory_unavailable");
    }

    /// Hands a message or recipient answered `reply` (250) but dropped by the discard rule
    /// `rule` to the message trace.
    pub(crate) fn record_discard(&self, sender: Option<&str>, rule: &str, reply: &Reply, recipients: Vec<String>) {
        if let Some(sink) = &self.shared.refusals {
            let record = Refusal::new(self.peer.ip(), self.kind, self.stage, sender, None, rule, reply);
            sink.discarded(&record, self.account.as_ref().map(|a| a.address.as_str()), recipients);
        }
    }

    /// Counts and logs a refusal (stage, sender and recipient from the command being
    /// handled) without replying.
    fn record_refusal(&self, reply: &Reply, rule: &str) {
        let sender = self.cmd_sender.as_deref().or_else(|| self.tx.as_ref().map(|t| t.mail_from.as_str()));
        let record = Refusal::new(self.peer.ip(), self.kind, self.stage, sender, self.cmd_rcpt.as_deref(), rule, reply);
        if let Some(sink) = &self.shared.refusals
            && matches!(self.stage, RefusalStage::Mail | RefusalStage::Rcpt | RefusalStage::Data)
        {
            let recipients = match (&self.cmd_rcpt, &self.tx, self.stage) {
                (Some(rcpt), _, _) => vec![rcpt.clone()],
                (None, Some(tx), _) => tx.recipients.clone(),
                (None, None, RefusalStage::Data) => self.data_recipients.clone(),
                _ => Vec::new(),
            };
            sink.refused(&record, self.account.as_ref().map(|a| a.address.as_str()), recipients);
        }
        self.shared.counters.refusal(record);
        tracing::debug!(peer = %self.peer, rule, "refused: {reply}");
    }

    pub(crate) async fn flush(&mut self) -> Flow {
        if self.out.is_empty() {
            return Ok(());
        }
        // A client that stops reading is dropped after the command time-out instead of
        // holding the session (and its buffers) forever.
        let timeout = self.profile.command_timeout;
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        let result = match tokio::time::timeout(timeout, write).await {
            Ok(result) => result,
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the client stopped reading replies")),
        };
        self.out.clear();
        result.map_err(Close::Io)
    }

    /// What is left of the current command's time-out, starting it if none runs.
    fn command_time_left(&mut self) -> Duration {
        let timeout = self.profile.command_timeout;
        let deadline = *self.command_deadline.get_or_insert_with(|| tokio::time::Instant::now() + timeout);
        deadline.saturating_duration_since(tokio::time::Instant::now())
    }

    /// Sends the pending replies, then waits for more input (timeout, shutdown).
    pub(crate) async fn read_more(&mut self, timeout: Duration) -> Flow {
        self.flush().await?;
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
        } else if self.len == self.buf.len() {
            // Only the AUTH line reader leaves unconsumed bytes; make room for them.
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        let cancel = self.shared.shutdown.clone();
        let n = tokio::select! {
            r = tokio::time::timeout(timeout, self.stream.read(&mut self.buf[self.len..])) => match r {
                Ok(Ok(0)) => return Err(Close::Eof),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(Close::Io(e)),
                Err(_) => {
                    let host = self.hostname().to_string();
                    self.reply(&canned::timeout(&host));
                    return Err(Close::Timeout);
                }
            },
            _ = cancel.cancelled() => {
                let host = self.hostname().to_string();
                self.reply(&canned::shutting_down(&host));
                return Err(Close::Shutdown);
            }
        };
        self.len += n;
        Ok(())
    }

    /// Counts a protocol error; past the limit, says so and ends the session.
    pub(crate) fn protocol_error(&mut self, reply: Reply) -> Flow {
        self.errors += 1;
        self.reply(&reply);
        if self.errors >= self.profile.max_errors {
            self.refuse(&Reply::new(421, [4, 7, 0], "Too many errors, closing connection"), "too_many_errors");
            return Err(Close::Done);
        }
        Ok(())
    }

    /// Counts an unknown recipient; at the profile's `probing.max_unknown` the session is
    /// dropped and the client's address refused at connect for a while.
    pub(crate) fn count_unknown_recipient(&mut self) -> Flow {
        self.unknown_recipients += 1;
        if self.unknown_recipients < self.profile.probing.max_unknown {
            return Ok(());
        }
        self.shared.limits.penalise(self.peer.ip(), self.profile.probing.penalty);
        self.refuse(
            &Reply::new(421, [4, 7, 0], "Too many unknown recipients, closing connection"),
            "recipient_probing",
        );
        Err(Close::Done)
    }

    /// The tarpit of recipient probing: once the session has tried `probing.slow_after`
    /// unknown recipients, each RCPT is answered only after a delay that grows with every
    /// further one. The replies already due are sent first, so only this RCPT's reply (and
    /// whatever the client pipelined after it) is held back.
    pub(crate) async fn probing_delay(&mut self) -> Flow {
        let delay = self.profile.probing.delay(self.unknown_recipients);
        if delay.is_zero() {
            return Ok(());
        }
        self.flush().await?;
        self.shared.counters.tarpitted(delay);
        let cancel = self.shared.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = cancel.cancelled() => {
                let host = self.hostname().to_string();
                self.reply(&canned::shutting_down(&host));
                Err(Close::Shutdown)
            }
        }
    }

    /// Connect stage: limits and lists were applied by the listener; here reverse DNS,
    /// the policy hook and the greeting.
    async fn connect(&mut self) -> Flow {
        let ip = self.peer.ip();
        let verdict = crate::policy::list_verdict(&self.profile.lists, Stage::Connect, ip, "");
        match verdict {
            Verdict::Reject { reply, rule } => {
                self.refuse(&reply, &rule);
                return Err(Close::Done);
            }
            Verdict::Discard { rule } => self.session_discard = Some(rule),
            Verdict::Allow { .. } => self.session_allowed = true,
            Verdict::Continue => {}
        }
        if self.kind == ListenerKind::Mx
            && !self.session_allowed
            && self.profile.connection.require_reverse_dns
            && let Some(verifier) = self.shared.verifier.clone()
        {
            match verifier.reverse_name(ip).await {
                Ok(Some(name)) => self.reverse_name = Some(name),
                Ok(None) => {
                    let reply = Reply::new(554, [5, 7, 25], format!("Reverse DNS validation failed for [{ip}]"));
                    self.refuse(&reply, "reverse_dns");
                    return Err(Close::Done);
                }
                Err(()) => {
                    let reply = Reply::new(421, [4, 7, 25], format!("Reverse DNS lookup for [{ip}] failed, try later"));
                    self.refuse(&reply, "reverse_dns");
                    return Err(Close::Done);
                }
            }
        }
        if !self.session_allowed {
            match self.ask_policy(Stage::Connect, None, false, None).await {
                Verdict::Reject { reply, rule } => {
                    self.refuse(&reply, &rule);
                    return Err(Close::Done);
                }
                Verdict::Discard { rule } => self.session_discard = Some(rule),
                Verdict::Allow { .. } => self.session_allowed = true,
                Verdict::Continue => {}
            }
        }
        let greeting = format!("220 {} {}\r\n", self.hostname(), self.profile.banner);
        crate::reply::push_sanitised(&mut self.out, greeting.trim_end());
        self.out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Asks the policy hook about the current state at `stage`.
    pub(crate) async fn ask_policy(
        &self,
        stage: Stage,
        rcpt: Option<&str>,
        recipient_is_local: bool,
        message: Option<&[u8]>,
    ) -> Verdict {
        let tx = self.tx.as_ref();
        let request = PolicyRequest {
            stage,
            listener: self.kind,
            client_ip: self.peer.ip(),
            helo: self.helo.as_deref(),
            account: self.account.as_ref(),
            tls: self.tls.is_some(),
            mail_from: tx.map(|t| t.mail_from.as_str()),
            sender_is_local: tx.is_some_and(|t| t.sender_is_local),
            rcpt_to: rcpt,
            recipient_is_local,
            recipients: tx.map(|t| t.recipients.as_slice()).unwrap_or(&[]),
            message,
        };
        self.shared.policy.check(&request).await
    }

    async fn command_loop(&mut self) -> Flow {
        loop {
            if self.skip_line {
                match self.buf[self.pos..self.len].iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        self.pos += i + 1;
                        self.skip_line = false;
                    }
                    None => {
                        self.pos = self.len;
                        let timeout = self.command_time_left();
                        self.read_more(timeout).await?;
                        continue;
                    }
                }
            }
            // RFC 5321 §4.5.3.1.4 allows 512 octets per command line; extensions (AUTH
            // initial responses, many parameters) need more, 4096 is ample.
            let partial = self.receiver.buf().len();
            let newline = self.buf[self.pos..self.len].iter().position(|b| *b == b'\n');
            if partial + newline.unwrap_or(self.len - self.pos) > MAX_COMMAND_LINE {
                self.receiver = RequestReceiver::default();
                match newline {
                    Some(i) => self.pos += i + 1,
                    None => {
                        self.pos = self.len;
                        self.skip_line = true;
                    }
                }
                self.protocol_error(parse_error_reply(smtp_proto::Error::ResponseTooLong))?;
                continue;
            }
            let mut bytes = self.buf[self.pos..self.len].iter();
            let parsed = self.receiver.ingest(&mut bytes).map(Request::into_owned);
            self.pos = self.len - bytes.len();
            match parsed {
                Ok(request) => {
                    self.command_deadline = None;
                    self.handle(request).await?
                }
                Err(smtp_proto::Error::NeedsMoreData { .. }) => {
                    let timeout = self.command_time_left();
                    self.read_more(timeout).await?
                }
                Err(e) => {
                    self.command_deadline = None;
                    if e == smtp_proto::Error::InvalidSenderAddress {
                        (self.stage, self.cmd_sender, self.cmd_rcpt) = (RefusalStage::Mail, None, None);
                        self.record_refusal(
                            &parse_error_reply(smtp_proto::Error::InvalidSenderAddress),
                            "sender_malformed",
                        );
                    }
                    if e == smtp_proto::Error::ResponseTooLong {
                        self.receiver = RequestReceiver::default();
                        self.skip_line = true;
                    }
                    self.protocol_error(parse_error_reply(e))?
                }
            }
        }
    }

    async fn handle(&mut self, request: Request<String>) -> Flow {
        (self.stage, self.cmd_sender, self.cmd_rcpt) = match &request {
            Request::Mail { from } => (RefusalStage::Mail, Some(from.address.trim().to_string()), None),
            Request::Rcpt { to } => (RefusalStage::Rcpt, None, Some(to.address.trim().to_string())),
            Request::Data | Request::Bdat { .. } => (RefusalStage::Data, None, None),
            Request::Auth { .. } => (RefusalStage::Auth, None, None),
            _ => (RefusalStage::Command, None, None),
        };
        match request {
            Request::Ehlo { host } => self.ehlo(host, true),
            Request::Helo { host } => self.ehlo(host, false),
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data().await,
            Request::Bdat { chunk_size, is_last } => self.bdat(chunk_size, is_last).await,
            Request::Auth { mechanism, initial_response } => self.auth(mechanism, initial_response).await,
            Request::StartTls => self.starttls().await,
            Request::Rset => {
                self.tx = None;
                self.reply(&Reply::new(250, [2, 0, 0], "OK"));
                Ok(())
            }
            Request::Noop { .. } => {
                self.reply(&Reply::new(250, [2, 0, 0], "OK"));
                Ok(())
            }
            Request::Quit => {
                let host = self.hostname().to_string();
                self.reply(&Reply::new(221, [2, 0, 0], format!("{host} closing connection")));
                Err(Close::Done)
            }
            // RFC 5321 §3.5.3: 252 when we will not verify but will accept.
            Request::Vrfy { .. } => {
                self.reply(&Reply::new(
                    252,
                    [2, 5, 2],
                    "Cannot VRFY user, but will accept message and attempt delivery",
                ));
                Ok(())
            }
            Request::Help { .. } => {
                self.reply(&Reply::new(
                    214,
                    [2, 0, 0],
                    "See RFC 5321; commands: EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT",
                ));
                Ok(())
            }
            Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. }
            | Request::Lhlo { .. } => self.protocol_error(Reply::new(502, [5, 5, 1], "Command not implemented")),
        }
    }
}

/// Replies for requests smtp-proto could not parse (RFC 5321 §4.2.2, RFC 3463).
fn parse_error_reply(e: smtp_proto::Error) -> Reply {
    use smtp_proto::Error as E;
    match e {
        E::UnknownCommand => Reply::new(500, [5, 5, 2], "Command unrecognized"),
        E::InvalidSenderAddress => Reply::new(553, [5, 1, 7], "Bad sender address syntax"),
        E::InvalidRecipientAddress => Reply::new(553, [5, 1, 3], "Bad recipient address syntax"),
        E::SyntaxError { syntax } => Reply::new(501, [5, 5, 4], format!("Syntax: {syntax}")),
        E::InvalidParameter { param } => Reply::new(501, [5, 5, 4], format!("Invalid parameter {param}")),
        E::UnsupportedParameter { param } => Reply::new(555, [5, 5, 4], format!("Unsupported parameter {param}")),
        E::ResponseTooLong => Reply::new(500, [5, 5, 2], "Line too long"),
        E::NeedsMoreData { .. } | E::InvalidResponse { .. } => Reply::new(500, [5, 5, 2], "Syntax error"),
    }
}
