//! Params of the SMS gateway's admin operations (server-wide, like the relays') and of an
//! admin's look at and clearing of an account's bound phone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::phone::SmsGatewayMode;

/// The SMS gateway's bearer token in transit. Its `Debug` never shows it; it goes to the
/// secret store and nowhere else.
// A plain comment: doc comments here would reach the TypeScript bindings.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(type = "string")]
pub struct SmsToken(pub String);

impl std::fmt::Debug for SmsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmsToken(***)")
    }
}

params!(/// The server-wide SMS gateway (never its token).
GetSmsGateway {});
params!(/// Sets the server-wide SMS gateway. Log mode forgets the URL and the token.
SetSmsGateway {
    /// Log (messages kept for an admin to read) or HTTP (POSTed to the URL).
    mode: SmsGatewayMode,
    /// HTTP mode: the gateway's URL, `https://…` (or `http://` to a loopback address).
    #[serde(default)] #[ts(optional)] url: Option<String>,
    /// HTTP mode: a bearer token; absent keeps the stored one. Write-only.
    #[serde(default)] #[ts(optional)] token: Option<SmsToken>,
    /// HTTP mode: remove the stored token (send without one).
    #[serde(default)] #[ts(optional)] clear_token: Option<bool>,
});
params!(/// The SMS log (log mode), newest first.
ListSmsLog {
    /// Only messages older than this cursor (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Whether an account has a phone bound (masked).
GetAccountPhone { /// The account's address.
address: String });
params!(/// Clears an account's bound phone (and a pending code), so the user binds one again.
ClearAccountPhone { /// The account's address.
address: String });
