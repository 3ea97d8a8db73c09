//! The message trace's side of the SMTP service: every message (or recipient) refused
//! during the dialogue — at MAIL, RCPT or the end of DATA — is handed to a
//! [`RefusalSink`] besides the counters. Refusals before any transaction (connect, AUTH,
//! the error limit) concern no message and go only to the counters' log. Messages and
//! recipients dropped by a discard rule (answered 250) are handed to it too. Accepted messages
//! are traced by whoever delivers them from the [`Store`](crate::Store), from their
//! [`Envelope`](crate::Envelope).

use crate::counters::Refusal;

/// Where refused messages go for the message trace.
pub trait RefusalSink: Send + Sync + 'static {
    /// `refusal` was sent; `account` is the session's signed-in account, `recipients` the
    /// recipient refused (at RCPT) or the transaction's recipients (at the end of DATA).
    /// Called on the session's task: must not block (hand it to a queue).
    fn refused(&self, refusal: &Refusal, account: Option<&str>, recipients: Vec<String>);
    /// Like [`refused`](RefusalSink::refused), for a message (at the end of DATA) or a
    /// recipient (at RCPT) answered 250 but dropped by the discard rule `record.rule`.
    fn discarded(&self, record: &Refusal, account: Option<&str>, recipients: Vec<String>);
}
