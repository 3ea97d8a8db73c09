//! Params of the login log's admin operation, kept apart so the operation table's parts
//! merge cleanly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The most rows one `list_logins` page holds.
pub const MAX_LOGIN_PAGE: u32 = 500;

params!(/// One page of the login log (SMTP, IMAP and POP3 login attempts), newest first. Needs
/// the accounts page; a caller limited to some domains sees only their rows, and rows that
/// name none of our domains only callers of all domains see.
ListLogins {
    /// Only attempts on this account (its address or one of its account aliases).
    #[serde(default)] #[ts(optional)] account: Option<String>,
    /// Only attempts in this domain (unknown addresses of it included).
    #[serde(default)] #[ts(optional)] domain: Option<String>,
    /// Only rows older than this id (the previous page's `next_before`).
    #[serde(default)] #[ts(optional)] #[ts(type = "number")] before: Option<u64>,
    /// Page size, 1–500 (default 50).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
