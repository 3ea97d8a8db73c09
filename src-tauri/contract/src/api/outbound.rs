//! Params of the outbound queue's admin operations (list, retry now, delete, bounce now)
//! and of the transport table. Server-wide, like the SMTP service's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::outbound::RecipientStatus;

params!(/// The outbound queue, newest first, filtered.
ListOutboundQueue {
    /// Only messages with a recipient in this state.
    #[serde(default)] #[ts(optional)] status: Option<RecipientStatus>,
    /// Only messages with a recipient at this domain.
    #[serde(default)] #[ts(optional)] domain: Option<String>,
    /// Only messages from this sender (an address; empty for the null sender).
    #[serde(default)] #[ts(optional)] sender: Option<String>,
    /// Only items after this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Tries a queued message's waiting recipients again now.
RetryOutbound { /// Message id.
#[ts(type = "number")] id: i64 });
params!(/// Removes a message from the queue without telling its sender.
DeleteOutbound { /// Message id.
#[ts(type = "number")] id: i64 });
params!(/// Gives up a message's waiting recipients now: they bounce, and the sender gets a DSN.
BounceOutbound { /// Message id.
#[ts(type = "number")] id: i64 });
params!(/// The transport table (fixed routes by recipient domain).
ListTransports {
    /// Only items after this domain (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Sets a domain's fixed route (`*`: every domain without its own); replaces one there.
SetTransport {
    /// The recipient domain, or `*`.
    domain: String,
    /// Host name or IP address.
    host: String,
    /// Port (1–65535).
    port: u16,
});
params!(/// Removes a domain's fixed route: its mail goes to its MX hosts again.
RemoveTransport { /// The recipient domain, or `*`.
domain: String });
