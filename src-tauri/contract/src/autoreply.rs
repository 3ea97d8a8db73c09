//! Auto-replies (RFC 3834), per mailbox: set for a shared mailbox by its admins today, by
//! each user for their own mailbox once the self-service portal exists. The engine answers
//! mail filed into the mailbox's INBOX:
//! * at most once per sender per period (who was answered is remembered, bounded);
//! * never to the null sender, to the mailbox itself, to automatic senders
//!   (`MAILER-DAEMON`, `owner-…`, `…-request`), nor to a message with `List-Id`,
//!   `List-Unsubscribe`, `Precedence: bulk|list|junk` or `Auto-Submitted` other than `no`;
//! * the reply carries `Auto-Submitted: auto-replied`, `In-Reply-To` and `References`, is
//!   sent with the null envelope sender and leaves through the outbound queue.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A mailbox's auto-reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct AutoReply {
    /// Whether it answers.
    pub enabled: bool,
    /// From when (RFC 3339); absent: from now on.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// Until when (RFC 3339, not included); absent: until turned off.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// The reply's subject.
    pub subject: String,
    /// The reply's text (plain text).
    pub text: String,
}

/// Longest subject, in characters.
pub const MAX_AUTO_REPLY_SUBJECT: usize = 200;
/// Longest text, in bytes.
pub const MAX_AUTO_REPLY_TEXT: usize = 64 * 1024;
/// Senders remembered as answered per mailbox; past it the oldest are forgotten.
pub const MAX_REMEMBERED_SENDERS: i64 = 10_000;
