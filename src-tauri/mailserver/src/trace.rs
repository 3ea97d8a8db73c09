//! The message trace's writers on the mail server's side.
//!
//! * Refusals: the SMTP sessions hand each refused message to [`RefusalQueue`] (a bounded
//!   channel, never blocking a session); one task writes what waits in batches of up to
//!   [`BATCH`], one transaction each (`OutboundQueue::record_refusals`). When the channel
//!   is full (the database far behind), refusals are dropped from the trace, counted and
//!   logged: a refusal is never delayed for its trace.
//! * Accepted messages: [`start`] gives the delivery task what the trace records of a
//!   spooled message (client, account, envelope, Message-ID, the sender checks of our
//!   Authentication-Results header, why Junk), written by `deliver_batch` in its own
//!   transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use postdesk_contract::mail::{MailBackend, TraceStart, TracedRefusal};
use postdesk_smtp::{Envelope, Refusal, RefusalSink};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Refusals waiting to be written at most.
const CAPACITY: usize = 10_000;
/// Refusals written per transaction at most.
const BATCH: usize = 500;

/// The sessions' end of the refusal channel.
#[derive(Debug)]
pub(crate) struct RefusalQueue {
    tx: mpsc::Sender<TracedRefusal>,
    dropped: AtomicU64,
}

impl RefusalSink for RefusalQueue {
    fn refused(&self, refusal: &Refusal, account: Option<&str>, recipients: Vec<String>) {
        self.push(refusal, account, recipients, false);
    }

    fn discarded(&self, record: &Refusal, account: Option<&str>, recipients: Vec<String>) {
        self.push(record, account, recipients, true);
    }
}

impl RefusalQueue {
    fn push(&self, refusal: &Refusal, account: Option<&str>, recipients: Vec<String>, discarded: bool) {
        let traced = TracedRefusal {
            at: refusal.at.unix_timestamp(),
            client: refusal.client_ip.to_string(),
            account: account.map(str::to_string),
            sender: refusal.sender.clone().unwrap_or_default(),
            recipients,
            rule: refusal.rule.clone(),
            reply: refusal.reply.clone(),
            discarded,
        };
        if self.tx.try_send(traced).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!("message trace: {n} refusals not recorded (the database is behind)");
            }
        }
    }
}

/// Starts the refusal writer; it ends after `stop`, once what waits is written.
pub(crate) fn refusal_writer(
    backend: Arc<dyn MailBackend>,
    stop: CancellationToken,
) -> (Arc<RefusalQueue>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel(CAPACITY);
    let queue = Arc::new(RefusalQueue { tx, dropped: AtomicU64::new(0) });
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let n = tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => n,
                _ = stop.cancelled() => {
                    rx.close();
                    rx.recv_many(&mut batch, BATCH).await
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = backend.record_refusals(std::mem::take(&mut batch)).await {
                tracing::warn!("message trace: {n} refusals not recorded: {}", e.message);
            }
        }
    });
    (queue, task)
}

/// The sender checks of the first Authentication-Results header of `raw` (ours: the
/// session puts it in front of the message) as `spf=pass dkim=none dmarc=pass`.
pub(crate) fn checks(raw: &[u8]) -> String {
    let head = header_block(raw);
    let Some(start) = find_header(head, "authentication-results") else { return String::new() };
    let value = unfolded(&head[start..]);
    let mut out = Vec::new();
    for method in ["spf", "dkim", "dmarc"] {
        let needle = format!("{method}=");
        let found = value.split(|c: char| c == ';' || c.is_whitespace()).find_map(|t| t.strip_prefix(&needle));
        if let Some(result) = found {
            out.push(format!("{method}={}", result.to_ascii_lowercase()));
        }
    }
    out.join(" ")
}

/// The `Message-ID` of `raw`, without its angle brackets.
pub(crate) fn message_id(raw: &[u8]) -> Option<String> {
    let head = header_block(raw);
    let start = find_header(head, "message-id")?;
    let value = unfolded(&head[start..]);
    let id = value.trim().trim_start_matches('<');
    let id = id.split('>').next().unwrap_or("").trim();
    (!id.is_empty()).then(|| id.chars().take(998).collect())
}

/// What the trace records of a spooled message.
pub(crate) fn start(envelope: &Envelope, raw: &[u8]) -> TraceStart {
    TraceStart {
        at: envelope.received_at as i64,
        client: envelope.client_ip.to_string(),
        account: envelope.account.clone(),
        sender: envelope.mail_from.clone(),
        recipients: envelope.recipients.clone(),
        message_id: message_id(raw),
        checks: checks(raw),
        junk: envelope.junk.clone(),
    }
}

/// The header section of `raw` (up to the first empty line; at most 64 KiB looked at).
fn header_block(raw: &[u8]) -> &[u8] {
    let raw = &raw[..raw.len().min(64 * 1024)];
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => &raw[..end + 2],
        None => raw,
    }
}

/// Where the value of the first header field `name` (lower case) starts in `head`.
fn find_header(head: &[u8], name: &str) -> Option<usize> {
    let mut at = 0;
    while at < head.len() {
        let line_end = head[at..].iter().position(|&b| b == b'\n').map_or(head.len(), |p| at + p + 1);
        let line = &head[at..line_end];
        if line.len() > name.len()
            && line[name.len()] == b':'
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            return Some(at + name.len() + 1);
        }
        at = line_end;
    }
    None
}

/// The field value starting at `from` with its continuation lines joined.
fn unfolded(from: &[u8]) -> String {
    let mut out = Vec::new();
    let mut lines = from.split(|&b| b == b'\n');
    if let Some(first) = lines.next() {
        out.extend_from_slice(first);
    }
    for line in lines {
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            out.push(b' ');
            out.extend_from_slice(line);
        } else {
            break;
        }
    }
    String::from_utf8_lossy(&out).replace('\r', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_checks_and_message_id_are_read_from_the_header() {
        let raw = b"Received: from x\r\nAuthentication-Results: mx.example.com;\r\n\tdkim=none;\r\n\tspf=pass \
                    smtp.mailfrom=a@b.c;\r\n\tdmarc=FAIL header.from=b.c\r\nMessage-ID:\r\n <abc@b.c>\r\n\r\nbody \
                    dkim=pass\r\n";
        assert_eq!(checks(raw), "spf=pass dkim=none dmarc=fail");
        assert_eq!(message_id(raw).as_deref(), Some("abc@b.c"));
        assert_eq!(checks(b"Subject: x\r\n\r\n"), "");
        assert_eq!(message_id(b"Subject: x\r\n\r\nMessage-ID: <no@x>\r\n"), None);
    }
}
