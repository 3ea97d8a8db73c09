//! Shared mailboxes (seed 002, SPEC D): a mailbox of one of our domains whose mail is
//! fetched from an external server (IMAP by UID, or Microsoft 365 through Microsoft Graph
//! by delta query) into Postdesk's own store, where its owners read it over Postdesk's IMAP.
//!
//! Rules shared by every implementation:
//! * the mailbox in the store is an account at the sender address, created with the shared
//!   mailbox (no password: nobody logs in as it) and kept, with its mail, when the shared
//!   mailbox is removed;
//! * the server's password (or client secret) is write-only: no answer, database row or
//!   audit entry holds it; [`SharedMailbox::secret_set`] only says whether one is stored
//!   ([`SecretStore`](crate::secret::SecretStore), account [`secret_account`]);
//! * a message is fetched once: what was taken is remembered per remote folder by its
//!   content (SHA-256) and by (UIDVALIDITY, UID) or Graph's immutable id, in the
//!   transaction that stores it, so a crash, a reconnect, a changed UIDVALIDITY, an
//!   expired delta token or a resync never stores it twice;
//! * after [`SharedMailbox::disable_after`] consecutive failed fetches the interval is set
//!   to none and [`SharedMailbox::disabled_at`] says so until the admin sets an interval
//!   again; any successful fetch resets the count.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the mail of a shared mailbox comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SharedMailboxKind {
    /// An IMAP server (RFC 9051 / 3501), by UID.
    #[default]
    Imap,
    /// Microsoft 365 through Microsoft Graph: an app registration's client credentials
    /// (tenant id, client id, client secret), folders and delta queries per folder.
    Microsoft365,
}

impl SharedMailboxKind {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            SharedMailboxKind::Imap => "imap",
            SharedMailboxKind::Microsoft365 => "microsoft365",
        }
    }
    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<SharedMailboxKind> {
        Some(match name {
            "imap" => SharedMailboxKind::Imap,
            "microsoft365" => SharedMailboxKind::Microsoft365,
            _ => return None,
        })
    }
}

/// How the connection to the external IMAP server is secured. Both require TLS: the
/// password never crosses the network in clear text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum FetchTls {
    /// TLS from the first byte (IMAPS, RFC 8314; usually port 993).
    #[default]
    Implicit,
    /// STARTTLS required (RFC 3501 §6.2.1; usually port 143): no STARTTLS, no login.
    Starttls,
}

impl FetchTls {
    /// Its name in the database and the API.
    pub fn name(self) -> &'static str {
        match self {
            FetchTls::Implicit => "implicit",
            FetchTls::Starttls => "starttls",
        }
    }
    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<FetchTls> {
        Some(match name {
            "implicit" => FetchTls::Implicit,
            "starttls" => FetchTls::Starttls,
            _ => return None,
        })
    }
}

/// A folder of the external server, as last listed ("fetch folder list").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SharedFolder {
    /// Its name on the server (IMAP: decoded from modified UTF-7; Microsoft 365: its path of
    /// display names joined by `/`, the inbox as `INBOX`).
    pub name: String,
    /// Whether its mail is fetched.
    pub fetch: bool,
    /// The server's special-use mark (RFC 6154: `\Sent`, `\Junk`, …), if any.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_use: Option<String>,
    /// Messages fetched from it so far.
    #[ts(type = "number")]
    pub fetched: u64,
}

/// A shared mailbox, never with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SharedMailbox {
    /// The sender address, also the mailbox in our store (canonical).
    pub address: String,
    /// Its domain (one of ours).
    pub domain: String,
    /// The name shown to its owners.
    pub name: String,
    /// Where its mail comes from.
    pub kind: SharedMailboxKind,
    /// The external server's host name or IP address (IMAP).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Implicit TLS or STARTTLS.
    pub tls: FetchTls,
    /// Whether the server's certificate is checked against public roots.
    pub verify_certificate: bool,
    /// The user name at the external server (IMAP); for Microsoft 365 the mailbox read
    /// through Graph (its user principal name or user id).
    pub username: String,
    /// Microsoft 365: the directory (tenant) id; empty for IMAP.
    #[serde(default)]
    pub tenant_id: String,
    /// Microsoft 365: the app registration's (client) id; empty for IMAP.
    #[serde(default)]
    pub client_id: String,
    /// Whether a password (client secret) is stored. The secret itself is write-only.
    pub secret_set: bool,
    /// Minutes between automatic fetches; `None`: only "fetch now".
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_interval_minutes: Option<u32>,
    /// Consecutive failed fetches after which fetching stops (the interval becomes none).
    pub disable_after: u32,
    /// Consecutive failed fetches so far (0 after a success).
    pub error_count: u32,
    /// The last failure's reason.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it happened (RFC 3339).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<String>,
    /// When fetching was stopped after `disable_after` failures (the notice to the admin);
    /// cleared when an interval is set again or a fetch succeeds.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    /// When the last fetch ended, whatever its outcome.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fetch_at: Option<String>,
    /// When the last fetch succeeded.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<String>,
    /// The server's folders as last listed, and which are fetched.
    pub folders: Vec<SharedFolder>,
    /// The server's Sent folder (fetched into our `Sent`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_folder: Option<String>,
    /// The server's Junk folder (fetched into our `Junk`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk_folder: Option<String>,
    /// A pending resync: the next fetch takes every message received since then that was
    /// not fetched before (RFC 3339).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_from: Option<String>,
    /// Messages fetched in all.
    #[ts(type = "number")]
    pub fetched_messages: u64,
    /// Users (addresses of the domain) who may see and send from it.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Workflow groups of the domain whose members may see and send from it.
    #[serde(default)]
    pub owner_groups: Vec<String>,
    /// Its auto-reply (off unless set).
    #[serde(default)]
    pub auto_reply: crate::autoreply::AutoReply,
    /// The organisation's stored default font and size for mail written from it.
    #[serde(default)]
    pub template: SharedTemplate,
    /// When it was created.
    pub created_at: String,
}

/// The template of a shared mailbox: the organisation's stored default font and size for
/// mail written from it. Postdesk has no webmail: it stores the template and returns it with
/// the mailbox; it changes no message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SharedTemplate {
    /// The font family, one of [`TEMPLATE_FONTS`]; `None`: no default font.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<String>,
    /// The font size in points ([`MIN_TEMPLATE_SIZE`]–[`MAX_TEMPLATE_SIZE`]); `None`: no
    /// default size.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_pt: Option<u32>,
}

/// The fonts a template may name: common fonts that mail clients have or replace well.
pub const TEMPLATE_FONTS: &[&str] =
    &["Arial", "Calibri", "Courier New", "Georgia", "Helvetica", "Tahoma", "Times New Roman", "Verdana"];
/// The smallest template font size, in points.
pub const MIN_TEMPLATE_SIZE: u32 = 8;
/// The largest template font size, in points.
pub const MAX_TEMPLATE_SIZE: u32 = 36;

/// A user who owns shared mailboxes (itself or through workflow groups) and the one it
/// sends from by default (what its mail apps should propose), if one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct SharedOwner {
    /// The user's address.
    pub address: String,
    /// The shared mailboxes it owns (sender addresses), sorted.
    pub owns: Vec<String>,
    /// Its default shared mailbox, one of `owns`; `None`: none set (a warning for the admin).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mailbox: Option<String>,
}

/// A shared mailbox as its owner sees it in the self-service portal: the address it may
/// send as, whether it is the owner's default, and the mailbox's template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct OwnedSharedMailbox {
    /// The sender address.
    pub address: String,
    /// The name shown to its owners.
    pub name: String,
    /// Whether it is the owner's default shared mailbox.
    pub is_default: bool,
    /// Its template (the organisation's stored default font and size).
    pub template: SharedTemplate,
}

/// A workflow group: a named group of a domain's users, made owner of shared mailboxes
/// as a whole (its members may see and send from them; a member removed no longer may).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct WorkflowGroup {
    /// Its domain.
    pub domain: String,
    /// Its name, unique in the domain (any case).
    pub name: String,
    /// Its members' addresses, sorted.
    pub members: Vec<String>,
    /// The shared mailboxes it owns (sender addresses), sorted.
    pub owns: Vec<String>,
    /// When it was created.
    pub created_at: String,
}

/// Most members a workflow group holds, and most owners a shared mailbox has (of each kind).
pub const MAX_MEMBERS: usize = 1000;

/// What one fetch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
pub struct FetchReport {
    /// Messages stored.
    pub fetched: u32,
    /// Messages seen again and not stored (fetched before: a resync, a changed UIDVALIDITY).
    pub already: u32,
    /// Messages over the size limit, not fetched (their UIDs are passed over).
    pub too_large: u32,
    /// Folders whose UIDVALIDITY changed since the last fetch (each read again, nothing
    /// stored twice).
    pub uidvalidity_changed: Vec<String>,
    /// Whether more messages wait than one fetch takes; the next fetch continues.
    pub more: bool,
    /// Microsoft 365 folders whose delta token had expired (410 Gone) and were read again
    /// from the start (nothing stored twice).
    #[serde(default)]
    pub restarted: Vec<String>,
    /// Why it failed; `None` when it succeeded.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The mailbox after the fetch (error count, interval, notice).
    pub mailbox: SharedMailbox,
}

/// The secret store's account of a shared mailbox's password or client secret: by the
/// mailbox's row id, so two addresses never share one (an address-derived name mapped
/// `a+b@` and `a_b@` to one file; a hex address can pass the 255-byte file name limit).
pub fn secret_account(id: i64) -> String {
    format!("shared.{id}")
}

/// Most consecutive failures an admin may allow before fetching stops.
pub const MAX_DISABLE_AFTER: u32 = 1000;
/// Default consecutive failures before fetching stops.
pub const DEFAULT_DISABLE_AFTER: u32 = 5;
/// Longest fetch interval (a week), in minutes.
pub const MAX_FETCH_INTERVAL_MINUTES: u32 = 7 * 24 * 60;
