//! Params of the shared mailboxes' operations (seed 002): a domain's mailboxes fetched
//! from external servers. Accounts page, limited to the caller's domains.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::shared::{FetchTls, SharedMailboxKind};

/// A shared mailbox's password or client secret in transit. Its `Debug` never shows it; it
/// goes to the secret store and nowhere else.
// A plain comment: doc comments here would reach the TypeScript bindings.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[ts(type = "string")]
pub struct RemoteSecret(pub String);

impl std::fmt::Debug for RemoteSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteSecret(***)")
    }
}

params!(/// A domain's shared mailboxes, by address (never their secrets).
ListSharedMailboxes {
    /// Domain name.
    domain: String,
    /// Only items after this address (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// The shared mailboxes whose fetching stopped after too many failures in a row, in
/// every domain the caller may see, by address.
ListStoppedSharedMailboxes {
    /// Only items after this address (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// One shared mailbox.
GetSharedMailbox {
    /// Its sender address.
    address: String,
});
params!(/// Creates a shared mailbox, and the mailbox in our store at its sender address.
CreateSharedMailbox {
    /// Domain name (the sender address must be in it).
    domain: String,
    /// Sender address; a new mailbox of the domain.
    address: String,
    /// The name its owners see.
    name: String,
    /// IMAP (default) or Microsoft 365.
    #[serde(default)] #[ts(optional)] kind: Option<SharedMailboxKind>,
    /// The external server's host name or IP address.
    #[serde(default)] #[ts(optional)] host: Option<String>,
    /// Its port (default 993 for implicit TLS, 143 for STARTTLS).
    #[serde(default)] #[ts(optional)] port: Option<u16>,
    /// Implicit TLS (default) or STARTTLS.
    #[serde(default)] #[ts(optional)] tls: Option<FetchTls>,
    /// Check the server's certificate against public roots (default true).
    #[serde(default)] #[ts(optional)] verify_certificate: Option<bool>,
    /// The user name at the external server; for Microsoft 365 the mailbox read through
    /// Graph (user principal name or user id; default: the sender address).
    #[serde(default)] #[ts(optional)] username: Option<String>,
    /// Microsoft 365: the directory (tenant) id (a GUID or the tenant's domain).
    #[serde(default)] #[ts(optional)] tenant_id: Option<String>,
    /// Microsoft 365: the app registration's (client) id (a GUID).
    #[serde(default)] #[ts(optional)] client_id: Option<String>,
    /// Its password (Microsoft 365: the app's client secret). Write-only.
    #[serde(default)] #[ts(optional)] secret: Option<RemoteSecret>,
    /// Minutes between automatic fetches (1–10080); absent: only "fetch now".
    #[serde(default)] #[ts(optional)] fetch_interval_minutes: Option<u32>,
    /// Consecutive failures after which fetching stops (1–1000, default 5).
    #[serde(default)] #[ts(optional)] disable_after: Option<u32>,
});
params!(/// Changes a shared mailbox's settings; absent fields stay as they are.
UpdateSharedMailbox {
    /// Its sender address.
    address: String,
    /// The name its owners see.
    #[serde(default)] #[ts(optional)] name: Option<String>,
    /// IMAP or Microsoft 365.
    #[serde(default)] #[ts(optional)] kind: Option<SharedMailboxKind>,
    /// The external server's host name or IP address.
    #[serde(default)] #[ts(optional)] host: Option<String>,
    /// Its port.
    #[serde(default)] #[ts(optional)] port: Option<u16>,
    /// Implicit TLS or STARTTLS.
    #[serde(default)] #[ts(optional)] tls: Option<FetchTls>,
    /// Check the server's certificate.
    #[serde(default)] #[ts(optional)] verify_certificate: Option<bool>,
    /// The user name at the external server (Microsoft 365: the mailbox read through Graph).
    #[serde(default)] #[ts(optional)] username: Option<String>,
    /// Microsoft 365: the directory (tenant) id.
    #[serde(default)] #[ts(optional)] tenant_id: Option<String>,
    /// Microsoft 365: the app registration's (client) id.
    #[serde(default)] #[ts(optional)] client_id: Option<String>,
    /// A new password (Microsoft 365: client secret); absent keeps the stored one. Write-only.
    #[serde(default)] #[ts(optional)] secret: Option<RemoteSecret>,
    /// Minutes between automatic fetches (1–10080), or 0 for none (only "fetch now").
    /// Setting one clears the "fetching stopped" notice.
    #[serde(default)] #[ts(optional)] fetch_interval_minutes: Option<u32>,
    /// Consecutive failures after which fetching stops (1–1000).
    #[serde(default)] #[ts(optional)] disable_after: Option<u32>,
});
params!(/// Removes a shared mailbox and its secret; the mailbox in our store stays with its mail.
RemoveSharedMailbox {
    /// Its sender address.
    address: String,
});
params!(/// Fetches a shared mailbox's new mail now ("fetch now").
FetchSharedMailbox {
    /// Its sender address.
    address: String,
});
params!(/// Asks the external server for its folders and keeps the list ("fetch folder list").
FetchSharedFolderList {
    /// Its sender address.
    address: String,
});
params!(/// Chooses which of the listed folders are fetched, and which are Sent and Junk.
SetSharedFolders {
    /// Its sender address.
    address: String,
    /// The folders to fetch (names as listed); INBOX is not implied.
    fetch: Vec<String>,
    /// The server's Sent folder (fetched into our Sent); absent: none.
    #[serde(default)] #[ts(optional)] sent_folder: Option<String>,
    /// The server's Junk folder (fetched into our Junk); absent: none.
    #[serde(default)] #[ts(optional)] junk_folder: Option<String>,
});
params!(/// Fetches again from a date and time: the next fetch takes what was received since then
/// and not fetched before (received date: the time of fetching).
ResyncSharedMailbox {
    /// Its sender address.
    address: String,
    /// From when (RFC 3339, e.g. `2026-12-01T00:00:00Z`).
    since: String,
    /// The admin's agreement (must be true).
    confirm: bool,
});
params!(/// Sets who owns a shared mailbox (may see and send from it): users and whole workflow
/// groups of its domain, replacing the owners it had.
SetSharedMailboxOwners {
    /// Its sender address.
    address: String,
    /// Users' addresses (accounts of its domain).
    #[serde(default)] users: Vec<String>,
    /// Workflow groups' names (of its domain).
    #[serde(default)] groups: Vec<String>,
});
params!(/// A domain's workflow groups, by name.
ListWorkflowGroups {
    /// Domain name.
    domain: String,
    /// Only groups after this name (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
});
params!(/// Creates a workflow group of a domain's users.
CreateWorkflowGroup {
    /// Domain name.
    domain: String,
    /// Its name, unique in the domain.
    name: String,
    /// Its members' addresses (accounts of the domain).
    #[serde(default)] members: Vec<String>,
});
params!(/// Sets a workflow group's members, replacing those it had.
SetWorkflowGroupMembers {
    /// Domain name.
    domain: String,
    /// The group's name.
    name: String,
    /// Its members' addresses (accounts of the domain).
    members: Vec<String>,
});
params!(/// Removes a workflow group (its members no longer own what it owned).
RemoveWorkflowGroup {
    /// Domain name.
    domain: String,
    /// The group's name.
    name: String,
});
params!(/// Sets a shared mailbox's auto-reply (RFC 3834: once per sender per period, never to
/// lists, bulk mail, automatic senders or the null sender).
SetSharedAutoReply {
    /// Its sender address.
    address: String,
    /// Whether it answers.
    enabled: bool,
    /// From when (RFC 3339); absent: from now on.
    #[serde(default)] #[ts(optional)] starts_at: Option<String>,
    /// Until when (RFC 3339, not included); absent: until turned off.
    #[serde(default)] #[ts(optional)] ends_at: Option<String>,
    /// The reply's subject (at most 200 characters).
    subject: String,
    /// The reply's text (at most 64 KiB).
    text: String,
});
params!(/// Sets a shared mailbox's template: the organisation's stored default font and size for
/// mail written from it (absent: none). Replaces the template it had.
SetSharedTemplate {
    /// Its sender address.
    address: String,
    /// The font family (Arial, Calibri, Courier New, Georgia, Helvetica, Tahoma,
    /// Times New Roman or Verdana); absent: none.
    #[serde(default)] #[ts(optional)] font: Option<String>,
    /// The font size in points (8–36); absent: none.
    #[serde(default)] #[ts(optional)] size_pt: Option<u32>,
});
params!(/// The users of a domain who own shared mailboxes (themselves or through workflow groups),
/// by address, with their default shared mailbox.
ListSharedOwners {
    /// Domain name.
    domain: String,
    /// Only users after this address (the previous page's `next`).
    #[serde(default)] #[ts(optional)] after: Option<String>,
    /// Page size, 1–1000 (default 200).
    #[serde(default)] #[ts(optional)] limit: Option<u32>,
    /// Only users without a default shared mailbox.
    #[serde(default)] #[ts(optional)] without_default: Option<bool>,
});
params!(/// Sets (or clears) a user's default shared mailbox: the sender address its mail apps
/// should propose. It must be one the user owns; it goes when the ownership goes.
SetDefaultSharedMailbox {
    /// The user's address.
    user: String,
    /// A shared mailbox the user owns (itself or through a workflow group); absent: none.
    #[serde(default)] #[ts(optional)] mailbox: Option<String>,
});
