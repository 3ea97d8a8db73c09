//! A user's own forwarding (set in the self-service portal): mail delivered to the mailbox
//! is also sent on to up to [`MAX_FORWARD_TARGETS`] addresses, with or without a copy kept.
//!
//! Only where the account's effective `auto_forward` setting allows it: the portal refuses
//! to set it otherwise, and delivery judges every forwarded copy like a message the mailbox
//! sends itself with `auto_forward` set (so an admin who switches `auto_forward` off later
//! stops the forwarding at once). A copy refused that way is never lost: the mailbox keeps
//! it even when the user asked for no copy. Copies to other domains leave with an SRS
//! envelope sender; copies to our own mailboxes are filed directly and are not forwarded
//! again (one hop, no loops).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The most addresses one mailbox forwards to.
pub const MAX_FORWARD_TARGETS: usize = 5;

/// A user's forwarding as they set it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetForwarding {
    /// Where mail goes on to (empty: no forwarding).
    pub targets: Vec<String>,
    /// Whether the mailbox keeps its copy too.
    pub keep_copy: bool,
}

/// A user's forwarding as the portal shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OwnForwarding {
    /// Where mail goes on to (empty: no forwarding).
    pub targets: Vec<String>,
    /// Whether the mailbox keeps its copy too.
    pub keep_copy: bool,
    /// Whether the administrator allows this account to forward automatically
    /// (`auto_forward`); when not, stored targets are not used.
    pub allowed: bool,
}

/// One mailbox's forwarding, as the mail path reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarding {
    /// The forwarding account's own address.
    pub address: String,
    /// Where its mail goes on to (canonical, at most [`MAX_FORWARD_TARGETS`]).
    pub targets: Vec<String>,
    /// Whether the mailbox keeps its copy too.
    pub keep_copy: bool,
}
