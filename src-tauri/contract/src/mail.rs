//! The mail-service seam: what the mail services (SMTP today; IMAP, POP3, the outbound
//! queue and the fetchers next) may ask of a backend's store, and nothing more.
//!
//! Three traits, each implemented by the engine and held by the services as `Arc<dyn …>`:
//! * [`Directory`] — who exists and what they may do: local domains, recipient
//!   resolution, mailbox logins (with lockout), effective settings, the delivery-policy
//!   decision, size limits and mailbox room;
//! * [`MailStore`] — the mailboxes: idempotent batch delivery, and the folder/message/flag/
//!   UID operations an IMAP or POP3 server needs (UIDs only grow; UIDVALIDITY changes only
//!   when a folder is created again);
//! * [`ServiceHooks`] — the service's side of the admin API: its stored configuration, a
//!   change notification, the monitor behind `get_smtp_status`, and the organisation's
//!   change generation (for caches).
//!
//! [`MailBackend`] is the three together. No trait method checks an admin's role: the
//! services act for the server, and what they do is bounded by the directory's rules.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::Resolution;
use crate::outbound::{DkimSigningKey, OutboundEnvelope, OutboundJob, OutboundTransport, RecipientResult};
use crate::policy::{Envelope, PolicyExplanation};
use crate::settings::EffectiveSettings;
use crate::smtp::{MailServiceMonitor, SmtpConfig};

/// Folders every mailbox has, created on first use, in display order.
pub const STANDARD_FOLDERS: [&str; 5] = ["INBOX", "Sent", "Drafts", "Junk", "Trash"];

/// Why a login was refused. Deliberately coarse towards the client: the services say
/// "authentication failed" for `WrongCredentials`, whatever was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginRefusal {
    /// Unknown address, no password set, or wrong password.
    WrongCredentials,
    /// The account is locked (its status): the password was right, an admin unlocks it.
    Locked,
    /// Disabled or deleted by an admin.
    Disabled,
    /// The password is right, but the account's settings switch this service off.
    ServiceDisabled,
    /// The password is right, but the admin asked for a new one at first logon: the user
    /// must change it before reading mail (IMAP and POP3; SMTP sends meanwhile).
    PasswordChangeRequired,
}

impl LoginRefusal {
    /// Its name in the login log.
    pub fn name(self) -> &'static str {
        match self {
            LoginRefusal::WrongCredentials => "wrong_credentials",
            LoginRefusal::Locked => "locked",
            LoginRefusal::Disabled => "disabled",
            LoginRefusal::ServiceDisabled => "service_disabled",
            LoginRefusal::PasswordChangeRequired => "password_change_required",
        }
    }
}

/// The outcome of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Accepted; the canonical account address.
    Accepted {
        /// The account logged in (an alias login yields its account).
        address: String,
        /// The user must change the password now.
        force_password_change: bool,
    },
    /// Refused.
    Refused(LoginRefusal),
}

// The login log's row is an admin API type (`list_logins`); the services only write it.
pub use crate::model::LoginRecord;

/// One login attempt for [`Directory::verify_login`].
#[derive(Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The name the client gave (an address, or an alias of it).
    pub login: &'a str,
    /// The password (never logged).
    pub password: &'a str,
    /// The service logged in to.
    pub service: LoginService,
    /// The client's address.
    pub client: std::net::IpAddr,
}

impl std::fmt::Debug for LoginAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("login", &self.login)
            .field("service", &self.service)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// One message for [`MailStore::deliver_batch`].
#[derive(Debug, Clone)]
pub struct KeyedMessage {
    /// Names this delivery; the same key is never delivered twice.
    pub key: String,
    /// The accounts (their own addresses, canonical) whose INBOX receives it.
    pub mailboxes: Vec<String>,
    /// The raw RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// The folder instead of the INBOX (`Junk` for mail the inbound checks flagged).
    pub folder: Option<String>,
    /// Mailboxes of `mailboxes` whose copy goes into another folder (a monitoring rule's
    /// folder), as (mailbox, folder); the rest go to `folder` or the INBOX.
    pub filed: Vec<(String, String)>,
    /// Recipients outside our domains: queued for outbound delivery in the same
    /// transaction as the local copies, under the same key (so a message handed over is
    /// either wholly recorded or not at all).
    pub outbound: Option<OutboundEnvelope>,
    /// How the message arrived, for the message trace: recorded (with where each copy
    /// went) in the same transaction; `None` for a message of the server's own (a DSN).
    pub trace: Option<TraceStart>,
}

/// How a message arrived, as the message trace records it when it is delivered
/// ([`KeyedMessage::trace`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceStart {
    /// When it was answered 250, UNIX seconds.
    pub at: i64,
    /// The client's IP address.
    pub client: String,
    /// The account that signed in to send it.
    pub account: Option<String>,
    /// The envelope sender ('' = the null sender).
    pub sender: String,
    /// The envelope recipients as given at RCPT.
    pub recipients: Vec<String>,
    /// Its `Message-ID` header without angle brackets.
    pub message_id: Option<String>,
    /// The sender checks as `spf=pass dkim=none dmarc=pass` (empty when none ran).
    pub checks: String,
    /// Why it goes to Junk (`dmarc_fail`, `spf_fail`), if it does.
    pub junk: Option<String>,
}

/// A message refused during the SMTP dialogue, for the message trace
/// ([`OutboundQueue::record_refusals`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedRefusal {
    /// When, UNIX seconds.
    pub at: i64,
    /// The client's IP address.
    pub client: String,
    /// The account signed in on the session, if any.
    pub account: Option<String>,
    /// The envelope sender, when one was given ('' = the null sender).
    pub sender: String,
    /// The recipient refused (a refusal at RCPT), or the recipients accepted so far (at
    /// the end of DATA).
    pub recipients: Vec<String>,
    /// The rule it was refused under (`unknown_recipient`, a list rule's name).
    pub rule: String,
    /// The reply sent (`550 5.1.1 …`).
    pub reply: String,
    /// Not refused but answered 250 and dropped by the discard rule `rule`.
    pub discarded: bool,
}

/// Where a delivered message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The account that received it.
    pub account: String,
    /// The folder.
    pub folder: String,
    /// Its UID in that folder.
    pub uid: u32,
}

/// What became of one [`KeyedMessage`].
#[derive(Debug)]
pub struct KeyedOutcome {
    /// Its key.
    pub key: String,
    /// The key was delivered before: nothing was stored this time.
    pub already: bool,
    /// Where it was stored.
    pub delivered: Vec<Delivered>,
    /// Mailboxes that did not take it, and why (no such account, disabled, full).
    pub refused: Vec<(String, Error)>,
}

/// A folder of a mailbox, as an IMAP `SELECT`/`STATUS` or a POP3 `STAT` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderState {
    /// Its name (`INBOX`, `Sent`, `Archive/2026`).
    pub name: String,
    /// UIDVALIDITY (RFC 9051 §2.3.1.1): the same for as long as the folder exists.
    pub uidvalidity: u32,
    /// The UID the next message will get; never lowered.
    pub uidnext: u32,
    /// Messages in it.
    pub messages: u32,
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// Bytes of its messages.
    pub bytes: u64,
    /// HIGHESTMODSEQ (RFC 7162): the largest mod-sequence of any change in the folder
    /// (a message added, flagged or expunged); it only grows.
    pub highest_modseq: u64,
}

/// One stored message's metadata, in UID order within its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its UID in the folder.
    pub uid: u32,
    /// Size of the stored bytes (RFC822.SIZE).
    pub size: u64,
    /// When it was stored (INTERNALDATE), RFC 3339 UTC.
    pub received_at: String,
    /// IMAP system flags and keywords (`\Seen`, `\Flagged`, `$Junk`), in a stable order.
    pub flags: Vec<String>,
    /// Its mod-sequence (RFC 7162): moves whenever it is added or its flags change.
    pub modseq: u64,
}

/// What [`MailStore::store_flags`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagsStored {
    /// The messages asked for that exist and were not skipped, with their state afterwards
    /// (for the untagged FETCH replies).
    pub messages: Vec<StoredMessage>,
    /// UIDs left unchanged because their mod-sequence was past `unchanged_since`
    /// (CONDSTORE's `[MODIFIED …]`).
    pub modified: Vec<u32>,
}

/// A mailbox's storage use and its limit (IMAP QUOTA, the portal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Bytes stored.
    pub used: u64,
    /// Bytes allowed by the account's quota.
    pub limit: u64,
}

/// A folder changed (a message added, flagged, expunged; the folder created, renamed or
/// deleted): sessions with the folder open look again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxChange {
    /// The account's own canonical address.
    pub account: String,
    /// The folder (`None`: the folder list changed).
    pub folder: Option<String>,
}

/// Which service a login is for, for the login log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginService {
    /// SMTP AUTH.
    Smtp,
    /// IMAP LOGIN/AUTHENTICATE.
    Imap,
    /// POP3 USER/PASS, AUTH.
    Pop3,
    /// The user self-service portal (web sign-in).
    Portal,
}

impl LoginService {
    /// Its name in logs and the settings (`smtp`, `imap`, `pop3`; `portal`).
    pub fn name(self) -> &'static str {
        match self {
            LoginService::Smtp => "smtp",
            LoginService::Imap => "imap",
            LoginService::Pop3 => "pop3",
            LoginService::Portal => "portal",
        }
    }
}

/// How [`MailStore::store_flags`] changes flags (IMAP `STORE FLAGS`, `+FLAGS`, `-FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagChange {
    /// Replace the flags with the given ones.
    Replace,
    /// Add the given flags.
    Add,
    /// Remove the given flags.
    Remove,
}

/// The organisation as the mail services see it.
#[async_trait::async_trait]
pub trait Directory: Send + Sync {
    /// Whether mail for `domain` (canonical or not) is delivered here.
    async fn is_local_domain(&self, domain: &str) -> Result<bool>;

    /// Which mailboxes receive mail sent to `address` (accounts, aliases, groups, pickup
    /// rules, catch-all), and which external targets. `not_found` when nothing does.
    async fn resolve_recipient(&self, address: &str) -> Result<Resolution>;

    /// Checks a mailbox password. A wrong one counts towards the domain's lockout
    /// threshold, and reaching it locks the account (audited). Every attempt, accepted or
    /// not, goes into the login log with its service, client and reason.
    async fn verify_login(&self, attempt: LoginAttempt<'_>) -> Result<Login>;

    /// The settings in force for an account (service switches, send/receive rules).
    async fn effective_settings(&self, address: &str) -> Result<EffectiveSettings>;

    /// The addresses an account may send as: its own and its aliases. Empty when the
    /// account does not exist (any more).
    async fn sender_addresses(&self, account: &str) -> Result<Vec<String>>;

    /// The shared mailboxes (their addresses, which are their accounts in the store) that
    /// the account owns, itself or through a workflow group: IMAP shows them under
    /// `Shared/<address>/`.
    async fn shared_mailboxes_of(&self, account: &str) -> Result<Vec<String>> {
        let _ = account;
        Ok(Vec::new())
    }

    /// The delivery-policy decision for an envelope (a pure function of the envelope and
    /// the effective settings, with the settings looked up here).
    async fn decide_policy(&self, envelope: Envelope) -> Result<PolicyExplanation>;

    /// The largest message (bytes as received) the plan of `domain` accepts; `None` when
    /// the domain is not ours.
    async fn domain_message_limit(&self, domain: &str) -> Result<Option<u64>>;

    /// Bytes still free in the mailbox at `address` (an account's own address), or `None`
    /// when no account receives mail there (unknown, disabled, deleted).
    async fn mailbox_room(&self, address: &str) -> Result<Option<u64>>;

    /// The envelope sender of a copy of a message from `original` that an address of
    /// `forwarding_domain` (ours) forwards to another domain: `original` when it is empty
    /// or of one of our domains, else its SRS rewriting (so SPF passes at the receiver; a
    /// bounce to it resolves back to `original`).
    async fn forward_sender(&self, original: &str, forwarding_domain: &str) -> Result<String>;

    /// Every automatic-BCC rule of every domain (at most `MAX_BCC_RULES` per domain).
    async fn bcc_rules(&self) -> Result<Vec<crate::rules::BccRule>>;

    /// Every disclaimer rule of every domain, by domain and position (at most
    /// `MAX_DISCLAIMER_RULES` per domain).
    async fn disclaimer_rules(&self) -> Result<Vec<crate::rules::DisclaimerRule>>;
    /// Every monitoring and copy rule, of every domain (the mail path matches them).
    async fn monitor_rules(&self) -> Result<Vec<crate::monitor::MonitorRule>>;
    /// Every mailbox's own forwarding (set by its user), whatever its `auto_forward`
    /// setting: delivery judges each forwarded copy by the policy.
    async fn forwardings(&self) -> Result<Vec<crate::forwarding::Forwarding>>;

    /// The daily send quota of `account` (an account's own address) at `now` (UNIX
    /// seconds): with `bytes` absent, whether it may still send outside today; with
    /// `bytes`, whether a message of that size fits, and if so it is counted. `Some`
    /// reason when refused (the reply's text).
    async fn daily_send(&self, account: &str, bytes: Option<u64>, now: i64) -> Result<Option<String>>;
}

/// The mailboxes. `account` is always an account's own canonical address (resolve
/// aliases with the [`Directory`] first); folder names are case-sensitive except `INBOX`.
#[async_trait::async_trait]
pub trait MailStore: Send + Sync {
    /// Stores a batch of messages in one transaction, idempotently: a key seen before
    /// stores nothing again (so a service may redeliver whatever it is unsure about after a
    /// crash). A mailbox that refuses (full, disabled) is reported per mailbox without
    /// failing the others; an `Err` means nothing of the batch was recorded.
    async fn deliver_batch(&self, messages: Vec<KeyedMessage>) -> Result<Vec<KeyedOutcome>>;

    /// Forgets delivery keys recorded before `before` (once no service can deliver those
    /// messages again). Returns how many went.
    async fn forget_delivery_keys(&self, before: time::OffsetDateTime) -> Result<u64>;

    /// The raw bytes of one message.
    async fn message_bytes(&self, account: &str, folder: &str, uid: u32) -> Result<Vec<u8>>;

    /// The folders of a mailbox (the standard ones first, then by name), with what an IMAP
    /// `LIST`/`STATUS` or a POP3 `STAT` reports, so a server needs no second look-up per
    /// folder. Works for every account status: admin tools read disabled mailboxes too.
    async fn folders(&self, account: &str) -> Result<Vec<FolderState>>;

    /// Creates a folder (a fresh UIDVALIDITY, different from any a folder of that name had
    /// before, so no client trusts UIDs it cached for the old one). `conflict` when it
    /// exists.
    async fn create_folder(&self, account: &str, name: &str) -> Result<FolderState>;

    /// Renames a folder, keeping its messages, UIDs and UIDVALIDITY, so a client's cache
    /// stays valid under the new name; inferior names (`from/…`) move along. Renaming INBOX
    /// moves its messages into a new folder and leaves INBOX empty (RFC 9051 §6.3.6).
    async fn rename_folder(&self, account: &str, from: &str, to: &str) -> Result<FolderState>;

    /// Deletes a folder and its messages; the standard folders cannot be deleted, since
    /// delivery and clients rely on them being there.
    async fn delete_folder(&self, account: &str, name: &str) -> Result<()>;

    /// The messages of a folder, in UID order, so a server can map sequence numbers to
    /// UIDs. `not_found` for a folder that does not exist.
    async fn messages(&self, account: &str, folder: &str) -> Result<Vec<StoredMessage>>;

    /// Stores a message in a folder (IMAP APPEND) with flags; the quota applies as for
    /// delivery, and only mailboxes that may receive mail (active, locked) take it.
    async fn append(&self, account: &str, folder: &str, raw: &[u8], flags: &[String]) -> Result<Delivered> {
        self.append_dated(account, folder, raw, flags, None).await
    }

    /// [`MailStore::append`] with the INTERNALDATE the client gave (IMAP APPEND's
    /// date-time, kept when mail is moved between servers); `None` = now.
    async fn append_dated(
        &self,
        account: &str,
        folder: &str,
        raw: &[u8],
        flags: &[String],
        received_at: Option<time::OffsetDateTime>,
    ) -> Result<Delivered>;

    /// Changes flags of the given UIDs (missing UIDs skipped, as another session may have
    /// expunged them); returns their state afterwards, for the untagged FETCH replies. With
    /// `unchanged_since` (CONDSTORE), a message whose mod-sequence is past it is left alone
    /// and reported in [`FlagsStored::modified`].
    async fn store_flags(
        &self,
        account: &str,
        folder: &str,
        uids: &[u32],
        change: FlagChange,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<FlagsStored>;

    /// Copies messages (new UIDs there, same flags and date, missing UIDs skipped); returns
    /// (source UID, new UID) pairs for UIDPLUS `COPYUID`. The quota applies to the copies.
    async fn copy_messages(&self, account: &str, from: &str, uids: &[u32], to: &str) -> Result<Vec<(u32, u32)>>;

    /// Removes messages flagged `\Deleted` (only those among `uids` when given, for UIDPLUS
    /// `UID EXPUNGE`); returns the UIDs removed, for the untagged EXPUNGE replies. Their
    /// UIDs are never handed out again.
    async fn expunge(&self, account: &str, folder: &str, uids: Option<&[u32]>) -> Result<Vec<u32>>;

    /// Moves messages (IMAP MOVE, RFC 6851) in one transaction: new UIDs in `to`, same
    /// flags and date, gone from `from`; returns (source UID, new UID) pairs. Missing UIDs
    /// are skipped.
    async fn move_messages(&self, account: &str, from: &str, uids: &[u32], to: &str) -> Result<Vec<(u32, u32)>>;

    /// The folders the account subscribed to (IMAP LSUB, `LIST (SUBSCRIBED)`), by name.
    async fn subscriptions(&self, account: &str) -> Result<Vec<String>>;

    /// Subscribes to or unsubscribes from a folder name (which need not exist, RFC 9051
    /// §6.3.7).
    async fn set_subscribed(&self, account: &str, name: &str, subscribed: bool) -> Result<()>;

    /// The mailbox's storage use and limit.
    async fn quota(&self, account: &str) -> Result<Quota>;

    /// Changes to any mailbox, sent after they commit. A receiver that lags behind gets
    /// `Lagged` and must look at everything again.
    fn watch_mailboxes(&self) -> tokio::sync::broadcast::Receiver<MailboxChange>;
}

/// The mail service's side of the admin API.
#[async_trait::async_trait]
pub trait ServiceHooks: Send + Sync {
    /// The stored SMTP settings and rules, with their version.
    async fn smtp_config(&self) -> Result<SmtpConfig>;

    /// A receiver that gets the new version after every committed change of the SMTP
    /// settings or rules made through this backend. Subscribe before the first
    /// [`ServiceHooks::smtp_config`] so no change is missed.
    fn subscribe_smtp_config(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Registers (or, with `None`, removes) the running service's monitor, which answers
    /// `get_smtp_status`.
    fn set_mail_monitor(&self, monitor: Option<Arc<dyn MailServiceMonitor>>);

    /// A number that moves whenever the organisation changes (every audited change): an
    /// answer cached under an older generation is stale.
    fn change_generation(&self) -> u64;

    /// Where users reach the self-service portal (e.g. `https://mail.example.com:8443/#/portal`),
    /// for the mail services' refusal texts; `None` when no portal is served.
    fn portal_url(&self) -> Option<String> {
        None
    }
}

/// The durable outbound queue (filled by [`MailStore::deliver_batch`] through
/// [`KeyedMessage::outbound`]) as the delivery workers see it. Work is taken under a lease
/// per message, so several workers (later: several nodes on one database) never send one
/// message at the same time, and a dead worker's messages are taken over once its lease
/// runs out.
#[async_trait::async_trait]
pub trait OutboundQueue: Send + Sync {
    /// Leases up to `limit` messages that have a recipient due at `now` (UNIX seconds) and
    /// no live lease, to `owner` until `now + lease_secs`, and returns them with their due
    /// recipients.
    async fn claim_outbound(&self, owner: &str, now: i64, lease_secs: i64, limit: usize) -> Result<Vec<OutboundJob>>;

    /// Records what attempts did to recipients of the messages named (message id, results)
    /// and gives up `owner`'s leases on them, in one transaction (a worker reports many
    /// messages per commit). Recorded even when a lease ran out meanwhile (what the remote
    /// said is true either way); a recipient already final is left alone.
    async fn report_outbound(&self, owner: &str, now: i64, reports: Vec<(i64, Vec<RecipientResult>)>) -> Result<()>;

    /// Gives up every lease held by an earlier run of `node` (owners `node:…`): a node
    /// that starts again holds nothing yet, so what its previous run had leased is due now
    /// instead of when those leases would run out.
    async fn release_outbound_leases(&self, node: &str) -> Result<u64>;

    /// Queues a message of our own (a DSN) for outbound delivery under `key`, idempotently.
    async fn queue_outbound(&self, key: &str, envelope: OutboundEnvelope, raw: Vec<u8>) -> Result<()>;

    /// The transport table: fixed routes for some domains (`*`: all of them).
    async fn outbound_transports(&self) -> Result<Vec<OutboundTransport>>;

    /// The active DKIM key of `domain` (canonical), if it has one.
    async fn dkim_signing_key(&self, domain: &str) -> Result<Option<DkimSigningKey>>;

    /// The smarthost relay for mail from `sender_domain` (canonical; empty for the null
    /// sender): that domain's own relay, else the global one, else `None` (MX delivery),
    /// with its secret read from the secret store.
    async fn outbound_relay(&self, sender_domain: &str) -> Result<Option<crate::relay::RelayRoute>>;

    /// The MTA-STS policy kept for `domain` (canonical) that is still in force at `now`
    /// (UNIX seconds), if any.
    async fn mta_sts_policy(&self, domain: &str, now: i64) -> Result<Option<crate::outbound::KeptStsPolicy>>;

    /// Keeps `policy` for its domain (replacing the one before) until its `until`; drops
    /// the policies no longer in force at `now`, and the oldest beyond a bound.
    async fn keep_mta_sts_policy(&self, policy: crate::outbound::KeptStsPolicy, now: i64) -> Result<()>;

    /// Records messages refused during the SMTP dialogue in the message trace, in one
    /// transaction (the services hand them over in batches).
    async fn record_refusals(&self, refusals: Vec<TracedRefusal>) -> Result<()>;
}

/// Everything a mail service needs of a backend.
pub trait MailBackend: Directory + MailStore + ServiceHooks + OutboundQueue + std::fmt::Debug {}

impl<T: Directory + MailStore + ServiceHooks + OutboundQueue + std::fmt::Debug> MailBackend for T {}
