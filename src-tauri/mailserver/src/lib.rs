//! Postdesk's mail server: the SMTP service ([`postdesk_smtp`]) wired to a backend through
//! the contract's mail-service seam ([`postdesk_contract::mail`], held as
//! `Arc<dyn MailBackend>`). Neither of those knows the other; this crate is the glue, and it
//! does not depend on the engine (`serve` and the desktop app hand theirs in).
//!
//! * [`BackendDirectory`] — recipients as the backend resolves them (accounts, account
//!   aliases, aliases, mail groups, pickup rules, catch-all) with the mailbox quota,
//!   logins through `Directory::verify_login` (failed logins counted, locked at the
//!   domain's threshold) plus the account's effective SMTP switch, the sender addresses of
//!   an account, our domains.
//! * [`BackendPolicy`] — at RCPT, the backend's delivery-policy decision
//!   (`Directory::decide_policy`, the same loading as `explain_policy`); a denial becomes a
//!   reply naming the rule and where its setting comes from, counted under the rule's name.
//! * Delivery — the SMTP crate's [`FileSpool`] stays the durable queue (250 only after
//!   its group-committed fdatasync); [`delivery`] moves spooled messages into the
//!   recipients' INBOXes with `MailStore::deliver_batch`, idempotent per queue id, and then
//!   lets the spool drop them. Mail our users send gets its domain's [`disclaimer`] first
//!   (before it is stored or queued, so before DKIM signing).
//! * [`outbound`] — the durable outbound queue drained to the world: MX or transport
//!   table routes, SMTP with opportunistic STARTTLS, DKIM signing, retries and DSNs.
//! * [`live`] — the SMTP profile from the backend's stored settings and black/white list
//!   rules (`ServiceHooks`), replaced in the running service after every stored change (no
//!   restart), and the monitor that gives the backend the live status (`get_smtp_status`).
//! * IMAP and POP3 — [`postdesk_imap`]'s and [`postdesk_pop3`]'s services on the same
//!   backend and certificate.
//! * [`MailServer`] — starts all of it on the configured listeners and stops it
//!   gracefully (sessions storing a message finish, the spool is synced, delivery drains).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod delivery;
mod directory;
pub mod disclaimer;
pub mod live;
mod lookups;
mod monitor;
pub mod outbound;
mod policy;
mod server;
mod trace;

pub use delivery::DeliveryStats;
pub use directory::BackendDirectory;
pub use lookups::Lookups;
pub use outbound::{Clock, OutboundOptions, OutboundStats};
pub use policy::BackendPolicy;
/// The IMAP service crate (listener kinds, options) for the binaries.
pub use postdesk_imap as imap;
/// The POP3 service crate (listener kinds, limits) for the binaries.
pub use postdesk_pop3 as pop3;
/// The SMTP service crate (listener kinds, profile, counters) for the binaries.
pub use postdesk_smtp as smtp;
pub use server::{MailServer, MailServerOptions};
