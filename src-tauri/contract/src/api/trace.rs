//! Params of the message trace's admin operations (and the login log's export), kept
//! apart so the operation table's parts merge cleanly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::trace::{ExportFormat, TraceStage};

params!(/// One page of the message trace, newest first. Needs the accounts page; a caller
/// limited to some domains sees only messages from or to its domains.
ListMessageTrace {
    /// Only messages from or to this address (sender or a recipient).
    #[serde(default)] #[ts(optional)] address: Option<String>,
    /// Only messages from or to an address at this domain.
    #[serde(default)] #[ts(optional)] domain: Option<String>,
    /// Only messages with this `Message-ID` (with or without its angle brackets).
    #[serde(default)] #[ts(optional)] message_id: Option<String>,
    /// Only messages that went through this step (e.g. `bounced`, `junk`).
    #[serde(default)] #[ts(optional)] outcome: Option<TraceStage>,
    /// Only messages seen at or after this time (RFC 3339).
    #[serde(default)] #[ts(optional)] since: Option<String>,
    /// Only messages seen before this time (RFC 3339).
    #[serde(default)] #[ts(optional)] until: Option<String>,
    /// Only items after this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// One message of the trace with every step.
GetMessageTrace { /// Its trace id.
#[ts(type = "number")] id: i64 });
params!(/// The messages of a trace filter as a CSV or XLSX file (the newest 100,000 at most;
/// cells are values, never formulas).
ExportMessageTrace {
    /// Only messages from or to this address.
    #[serde(default)] #[ts(optional)] address: Option<String>,
    /// Only messages from or to an address at this domain.
    #[serde(default)] #[ts(optional)] domain: Option<String>,
    /// Only messages with this `Message-ID`.
    #[serde(default)] #[ts(optional)] message_id: Option<String>,
    /// Only messages that went through this step.
    #[serde(default)] #[ts(optional)] outcome: Option<TraceStage>,
    /// Only messages seen at or after this time (RFC 3339).
    #[serde(default)] #[ts(optional)] since: Option<String>,
    /// Only messages seen before this time (RFC 3339).
    #[serde(default)] #[ts(optional)] until: Option<String>,
    /// `csv` (default) or `xlsx`.
    #[serde(default)] #[ts(optional)] format: Option<ExportFormat>,
});
params!(/// The trace's settings (how long records are kept).
GetTraceSettings {});
params!(/// Sets how many days trace records are kept (1–3650); older ones are removed.
/// Server-wide: needs the SMTP page and every domain.
UpdateTraceSettings { /// Days.
retention_days: u32 });
params!(/// The login log of a filter as a CSV or XLSX file (the newest 100,000 at most; cells are
/// values, never formulas).
ExportLogins {
    /// Only attempts on this account.
    #[serde(default)] #[ts(optional)] account: Option<String>,
    /// Only attempts in this domain.
    #[serde(default)] #[ts(optional)] domain: Option<String>,
    /// `csv` (default) or `xlsx`.
    #[serde(default)] #[ts(optional)] format: Option<ExportFormat>,
});
