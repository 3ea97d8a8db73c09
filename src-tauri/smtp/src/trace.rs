//! The message trace's side of the SMTP service: every message (or recipient) refused
//! during the dialogue — at MAIL, RCPT or the end of DATA — is handed to a
//! [`RefusalSink`] besides the counters. Refusals before any transaction (connect, AUTH,
//! the error limit) concern no message and go only to the counters' log. Accepted messages
//! are traced by whoever delivers them from the [`Store`](crate::Store), from their
//! [`Envelope`](crate::Envelope).

use crate::counters::Refusal;

/// Where refused messages go for the message trace.
pub trait RefusalSink: Send + Sync + 'static {
    /// `refusal` was sent; `account` is the session's signed-in account, `recipients` the
    /// recipient refused (at RCPT) or the transaction's recipients (at the end of DATA).
    /// Called on the session's task: must not block (hand it to a queue).
    fn refused(&self, refusal: &Refusal, account: Option<&str>, recipients: Vec<String>);
}
