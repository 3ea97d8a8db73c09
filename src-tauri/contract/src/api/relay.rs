//! Params of the smarthost relay's admin operations (list, set, remove; global or per
//! sender domain). Server-wide, like the transport table's.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::relay::{RelayAuth, RelayTls};

/// A relay's secret in transit (password, or bearer token for XOAUTH2). Its `Debug` never
/// shows it; it goes to the secret store and nowhere else.
// A plain comment: doc comments here would reach the TypeScript bindings.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(type = "string")]
pub struct RelaySecret(pub String);

impl std::fmt::Debug for RelaySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelaySecret(***)")
    }
}

params!(/// The relays: the global one and those of sender domains (never their secrets).
ListRelays {
    /// Only items after this scope (`*` for the global relay) (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Sets the relay of every outbound message, or of one sender domain's; replaces one there.
SetRelay {
    /// The sender domain whose mail goes through it; absent: all outbound mail.
    #[serde(default)] #[ts(optional)] sender_domain: Option<String>,
    /// Host name or IP address.
    host: String,
    /// Port (1–65535).
    port: u16,
    /// Implicit TLS or STARTTLS (there is no plain mode).
    #[serde(default)] #[ts(optional)] tls: Option<RelayTls>,
    /// Check the relay's certificate against public roots (default true).
    #[serde(default)] #[ts(optional)] verify_certificate: Option<bool>,
    /// AUTH mechanism (default none).
    #[serde(default)] #[ts(optional)] auth: Option<RelayAuth>,
    /// User name for AUTH.
    #[serde(default)] #[ts(optional)] username: Option<String>,
    /// Password or bearer token; absent keeps the stored one. Write-only.
    #[serde(default)] #[ts(optional)] secret: Option<RelaySecret>,
});
params!(/// Removes a relay (and its secret): that mail goes by the next rule again.
RemoveRelay {
    /// The sender domain; absent: the global relay.
    #[serde(default)] #[ts(optional)] sender_domain: Option<String>,
});
