//! Postdesk's mail server: the SMTP service ([`postdesk_smtp`]) wired to the organisation
//! engine ([`postdesk_contract`]). Neither of those knows the other; this crate is the glue.
//!
//! * [`EngineDirectory`] — recipients as the engine resolves them (accounts, account
//!   aliases, aliases, mail groups, pickup rules, catch-all) with the mailbox quota,
//!   logins through [`Engine::verify_login`](postdesk_engine::Engine::verify_login) (failed
//!   logins counted, locked at the domain's threshold) plus the account's effective SMTP
//!   switch, the sender addresses of an account, our domains.
//! * [`EnginePolicy`] — at RCPT, the engine's delivery-policy decision
//!   ([`Engine::decide_policy`](postdesk_engine::Engine::decide_policy), the same loading as
//!   `explain_policy`); a denial becomes a reply naming the rule and where its setting
//!   comes from, counted under the rule's name.
//! * Delivery — the SMTP crate's [`FileSpool`] stays the durable queue (250 only after
//!   its group-committed fdatasync); [`delivery`] moves spooled messages into the
//!   recipients' INBOXes with [`Engine::deliver_batch`](postdesk_engine::Engine::deliver_batch),
//!   idempotent per queue id, and then lets the spool drop them.
//! * [`live`] — the SMTP profile from the engine's stored settings and black/white list
//!   rules, replaced in the running service after every stored change (no restart), and
//!   the monitor that gives the engine the live status (`get_smtp_status`).
//! * [`MailServer`] — starts all of it on the configured listeners and stops it
//!   gracefully (sessions storing a message finish, the spool is synced, delivery drains).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod delivery;
mod directory;
pub mod live;
mod lookups;
mod policy;
mod server;

pub use delivery::DeliveryStats;
pub use directory::BackendDirectory;
pub use lookups::Lookups;
pub use policy::BackendPolicy;
/// The SMTP service crate (listener kinds, profile, counters) for the binaries.
pub use postdesk_smtp as smtp;
pub use server::{MailServer, MailServerOptions};
