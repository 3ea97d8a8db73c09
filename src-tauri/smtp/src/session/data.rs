//! DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030), and the end of a transaction: the
//! DATA-stage checks, the trace headers, the durable store, the 250.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use smtp_proto::request::receiver::{BdatReceiver, DataReceiver, DummyDataReceiver};

use super::{Flow, Session};
use crate::directory::MessageStatus;
use crate::inbound::spf_failed;
use crate::policy::{Stage, Verdict};
use crate::received::Trace;
use crate::reply::{Reply, canned};
use crate::store::incoming::{Incoming, Refused};
use crate::store::{Envelope, QueueId};

/// What happens to the data being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// Kept.
    Keep,
    /// Over the size limit: read and dropped, then 552.
    TooBig,
    /// It could not be written (disk full): read and dropped, then 452.
    Failed,
    /// Past the temporary files' disk budget or free-space floor: read and dropped, then 452.
    DiskFull,
}

/// 452 4.3.1 (RFC 3463: mail system full): the message could not be held now; the client
/// tries again later.
fn insufficient_storage() -> Reply {
    Reply::new(452, [4, 3, 1], "Insufficient system storage, try again later")
}

impl Session {
    /// Checks that DATA/BDAT may start; replies and returns false when not.
    fn ready_for_data(&mut self) -> Result<bool, super::Close> {
        match self.tx.as_ref() {
            None => {
                self.protocol_error(canned::bad_sequence("Need MAIL command first"))?;
                Ok(false)
            }
            Some(tx) if tx.recipients.is_empty() && tx.discarded_recipients == 0 => {
                self.protocol_error(Reply::new(554, [5, 5, 1], "No valid recipients"))?;
                Ok(false)
            }
            Some(_) => Ok(true),
        }
    }

    /// DATA: reads the message with dot-unstuffing until `CRLF.CRLF` into an [`Incoming`]
    /// (memory while small, then a temporary file), enforcing the size limit while reading
    /// (the excess is read and dropped, then 552).
    pub(super) async fn data(&mut self) -> Flow {
        if !self.ready_for_data()? {
            return Ok(());
        }
        if self.tx.as_ref().is_some_and(|t| t.body.is_some() || t.bdat_failed) {
            return self.protocol_error(canned::bad_sequence("DATA after BDAT"));
        }
        self.reply(&Reply::new(354, [2, 0, 0], "Start mail input; end with <CRLF>.<CRLF>"));
        let max = self.profile.max_message_size;
        let timeout = self.profile.data_timeout;
        let mut receiver = DataReceiver::new();
        // Start as if after a CRLF, so that a dot on the very first line is unstuffed and
        // an empty message (".\r\n" at once) ends the data.
        let mut primer = Vec::new();
        receiver.ingest(&mut b"\r\n".iter(), &mut primer);
        let mut body = self.shared.data.incoming();
        // What one read yields after unstuffing; appended to the body after each read.
        let mut piece = Vec::new();
        let mut sink = Sink::Keep;
        let mut overflow: Option<DummyDataReceiver> = None;
        loop {
            let mut bytes = self.buf[self.pos..self.len].iter();
            let done = match overflow.as_mut() {
                Some(dummy) => dummy.ingest(&mut bytes),
                None => receiver.ingest(&mut bytes, &mut piece),
            };
            self.pos = self.len - bytes.len();
            if overflow.is_none() {
                // The receiver drops the CR it pushed last when the LF of the final
                // `CRLF.CRLF` follows, perhaps in the next read: keep a trailing CR back.
                let keep = usize::from(!done && piece.last() == Some(&b'\r'));
                let ready = piece.len() - keep;
                if body.len() + ready > max {
                    sink = Sink::TooBig;
                } else if let Err(e) = body.append(&piece[..ready]).await {
                    sink = self.append_failed(&e);
                }
                piece.drain(..ready);
                if sink != Sink::Keep {
                    overflow = Some(DummyDataReceiver::new_data(&receiver));
                    body = self.shared.data.incoming();
                    piece = Vec::new();
                }
            }
            if done {
                break;
            }
            self.read_more(timeout).await?;
        }
        match sink {
            Sink::Keep => self.finish(body).await,
            Sink::TooBig | Sink::Failed | Sink::DiskFull => {
                self.refuse_data(sink);
                self.tx = None;
                Ok(())
            }
        }
    }

    /// Where the data goes after `e` stopped it being kept: the disk bounds of the
    /// temporary files (`StorageFull`) or another failure.
    fn append_failed(&self, e: &std::io::Error) -> Sink {
        if e.kind() == std::io::ErrorKind::StorageFull {
            tracing::warn!(peer = %self.peer, "message data refused: {e}");
            Sink::DiskFull
        } else {
            tracing::error!(peer = %self.peer, "cannot keep message data: {e}");
            Sink::Failed
        }
    }

    /// Refuses a message whose data could not be kept.
    fn refuse_data(&mut self, sink: Sink) {
        match sink {
            Sink::TooBig => self.refuse(&canned::message_too_big(), "message_too_big"),
            Sink::DiskFull => self.refuse(&insufficient_storage(), "data_disk"),
            _ => self.refuse(&insufficient_storage(), "data_storage"),
        }
    }

    /// BDAT: takes exactly `size` octets; the LAST chunk ends the message.
    pub(super) async fn bdat(&mut self, size: usize, last: bool) -> Flow {
        let ready = self.ready_for_data()?;
        let max = self.profile.max_message_size;
        let so_far = self.tx.as_ref().and_then(|t| t.body.as_ref()).map_or(0, Incoming::len);
        let mut sink = if !ready || self.tx.as_ref().is_some_and(|t| t.bdat_failed) || so_far + size > max {
            Sink::TooBig
        } else {
            Sink::Keep
        };
        let timeout = self.profile.data_timeout;
        let mut body = match self.tx.as_mut() {
            Some(tx) if sink == Sink::Keep => tx.body.take().unwrap_or_else(|| self.shared.data.incoming()),
            _ => self.shared.data.incoming(),
        };
        // The chunk is read in full even when refused: its octets are not commands.
        let mut dummy = DummyDataReceiver::new_bdat(size);
        let mut receiver = BdatReceiver::new(size, last);
        let mut piece = Vec::new();
        let mut taken = 0;
        loop {
            let mut bytes = self.buf[self.pos..self.len].iter();
            let done = size == 0
                || match sink {
                    Sink::Keep => receiver.ingest(&mut bytes, &mut piece),
                    _ => dummy.ingest(&mut bytes),
                };
            self.pos = self.len - bytes.len();
            if sink == Sink::Keep {
                taken += piece.len();
                if let Err(e) = body.append(&piece).await {
                    sink = self.append_failed(&e);
                    // What is left of the chunk is read and dropped.
                    dummy = DummyDataReceiver::new_bdat(size - taken);
                    body = self.shared.data.incoming();
                }
                piece.clear();
            }
            if done {
                break;
            }
            self.read_more(timeout).await?;
        }
        if !ready {
            return Ok(());
        }
        if sink != Sink::Keep {
            if let Some(tx) = self.tx.as_mut() {
                tx.bdat_failed = true;
                tx.body = None;
            }
            self.refuse_data(sink);
            if last {
                self.tx = None;
            }
            return Ok(());
        }
        if !last {
            if let Some(tx) = self.tx.as_mut() {
                tx.body = Some(body);
            }
            self.reply(&Reply::new(250, [2, 0, 0], format!("{size} octets received")));
            return Ok(());
        }
        self.finish(body).await
    }

    /// The end of a transaction: DATA-stage checks, trace headers, store, reply.
    async fn finish(&mut self, body: Incoming) -> Flow {
        let started = Instant::now();
        let Some(mut tx) = self.tx.take() else { return Ok(()) };
        if self.shared.refusals.is_some() {
            // A refusal from here on names the transaction's recipients in the trace.
            self.data_recipients.clone_from(&tx.recipients);
        }
        // From here to the store the whole message is in memory, under the shared budget
        // (waiting for it up to the data time-out; see `store::incoming`).
        let (mut message, reservation) = match body.into_message(self.profile.data_timeout).await {
            Ok(loaded) => loaded,
            Err(refused) => {
                self.cmd_sender = Some(tx.mail_from);
                if let Refused::Io(e) = &refused {
                    tracing::error!(peer = %self.peer, "cannot read message data back: {e}");
                    self.refuse(&insufficient_storage(), "data_storage");
                } else {
                    self.refuse(&insufficient_storage(), "data_budget");
                }
                return Ok(());
            }
        };
        let received = message.len();
        let profile = self.profile.clone();
        let ip = self.peer.ip();
        let helo = self.helo.clone().unwrap_or_default();

        if !tx.allowed {
            self.tx = Some(tx);
            let verdict = self.ask_policy(Stage::Data, None, false, Some(&message)).await;
            tx = self.tx.take().expect("transaction put back");
            match verdict {
                Verdict::Reject { reply, rule } => {
                    self.cmd_sender = Some(tx.mail_from);
                    self.refuse(&reply, &rule);
                    return Ok(());
                }
                Verdict::Discard { rule } => tx.discard = Some(rule),
                Verdict::Allow { .. } | Verdict::Continue => {}
            }
        }

        let mut auth_results = None;
        let mut junk = None;
        if self.account.is_none()
            && let (Some(verifier), Some(spf)) = (self.shared.verifier.clone(), tx.spf.as_ref())
        {
            let verification =
                verifier.verify_message(&message, spf, ip, &helo, &tx.mail_from, &profile.hostname).await;
            if verification.dmarc_reject && profile.inbound_auth.enforce_dmarc_reject && !tx.allowed {
                let reply =
                    Reply::new(550, [5, 7, 1], "Message rejected: DMARC policy of the author's domain is reject");
                self.cmd_sender = Some(tx.mail_from);
                self.refuse(&reply, "dmarc_reject");
                return Ok(());
            }
            auth_results = Some(verification.header);
            let inbound = &profile.inbound_auth;
            let dmarc_fail = verification.dmarc_quarantine || verification.dmarc_reject;
            if !tx.allowed {
                junk = if inbound.junk_dmarc_fail && dmarc_fail {
                    Some("dmarc_fail")
                } else if inbound.junk_spf_fail && spf_failed(spf) {
                    Some("spf_fail")
                } else {
                    None
                };
            }
        }

        let queue_id = QueueId::generate();
        let now = SystemTime::now();
        let trace = Trace {
            helo: &helo,
            client_ip: ip,
            reverse_name: self.reverse_name.as_deref(),
            hostname: &profile.hostname,
            esmtp: self.esmtp,
            tls: self.tls.as_deref(),
            authenticated: self.account.is_some(),
            queue_id,
            single_recipient: (tx.recipients.len() == 1).then(|| tx.recipients[0].as_str()),
            now: now.into(),
        }
        .header();
        // The trace headers go in front of the message in place (no second copy of it).
        let mut prefix = Vec::with_capacity(trace.len() + auth_results.as_ref().map_or(0, String::len));
        prefix.extend_from_slice(trace.as_bytes());
        if let Some(ar) = &auth_results {
            prefix.extend_from_slice(ar.as_bytes());
        }
        message.splice(0..0, prefix).for_each(drop);
        let raw = message;

        let discard = tx.discard.clone().or_else(|| tx.recipients.is_empty().then(|| "discard_recipient".to_string()));
        if let Some(rule) = discard {
            self.shared.counters.discarded(&rule);
            let reply = Reply::new(250, [2, 0, 0], format!("Ok: queued as {queue_id}"));
            // Recipients dropped one by one were traced at RCPT.
            if tx.discard.is_some() {
                self.record_discard(Some(&tx.mail_from), &rule, &reply, tx.recipients.clone());
            }
            self.reply(&reply);
            return Ok(());
        }

        // The real size against each recipient's plan limit and mailbox room (SIZE at
        // RCPT was only a declaration), whatever the lists allowed.
        match self.shared.directory.check_message(&tx.recipients, raw.len()).await {
            Ok(MessageStatus::Accept) => {}
            Ok(MessageStatus::TooLarge { recipient, limit }) => {
                self.refuse(&canned::too_big_for(&recipient, limit), "recipient_size_limit");
                return Ok(());
            }
            Ok(MessageStatus::OverQuota { recipient, all }) => {
                let reply = if all {
                    Reply::new(552, [5, 2, 2], format!("Mailbox <{recipient}> is full"))
                } else {
                    Reply::new(452, [4, 2, 2], format!("Mailbox <{recipient}> is full, try again later"))
                };
                self.refuse(&reply, "over_quota");
                return Ok(());
            }
            Err(e) => {
                self.directory_failed(&e);
                return Ok(());
            }
        }

        let envelope = Envelope {
            queue_id,
            mail_from: tx.mail_from,
            recipients: tx.recipients,
            client_ip: ip,
            helo,
            account: self.account.as_ref().map(|a| a.id.clone()),
            listener: self.kind.name().to_string(),
            received_at: now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            junk: junk.map(str::to_string),
        };
        let recipients = envelope.recipients.len();
        let stored = self.shared.store.deliver(envelope, raw).await;
        drop(reservation);
        match stored {
            Ok(id) => {
                // Counted before the 250 goes out, so a client that got it sees it counted.
                self.shared.counters.accepted(recipients, received, started.elapsed());
                if let Some(rule) = junk {
                    self.shared.counters.junked(rule);
                }
                self.reply(&Reply::new(250, [2, 0, 0], format!("Ok: queued as {id}")));
                self.flush().await?;
                tracing::debug!(peer = %self.peer, %id, "message accepted");
            }
            Err(e) => {
                tracing::error!(peer = %self.peer, "store failed: {e}");
                self.shared.counters.store_failed();
                self.reply(&canned::local_error());
            }
        }
        Ok(())
    }
}
