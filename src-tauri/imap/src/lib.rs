//! Postdesk's IMAP service: IMAP4rev2 (RFC 9051) that IMAP4rev1 (RFC 3501) clients use
//! too, over implicit TLS and STARTTLS, on the contract's mail seam
//! ([`postdesk_contract::mail::MailBackend`]), free of Tauri and of the engine.
//!
//! Contract:
//! * LOGIN and AUTHENTICATE PLAIN only over TLS (`LOGINDISABLED` before); the backend's
//!   `verify_login` decides (lockout, the account's `imap` switch, first-logon password
//!   change — refused with a `NO [ALERT]` that says what to do) and logs every attempt;
//! * the folder operations, flags, UIDs and mod-sequences are the store's
//!   ([`postdesk_contract::mail::MailStore`]): UIDs are never reused, UIDVALIDITY changes
//!   only for a folder created again; a session learns of other sessions' and deliveries'
//!   changes from the store's change notifications, and IDLE pushes them at once;
//! * every client is bounded: command size ([`wire`]), literal size, nesting
//!   ([`grammar::MAX_DEPTH`]), list lengths, failed logins per connection, idle time, and
//!   connections in all and per address.
//!
//! The grammar ([`grammar`]) is a module of its own with no I/O, fuzzed in its tests.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod address;
mod binary;
mod config;
mod encode;
pub mod grammar;
mod mime;
mod mutf7;
mod search;
pub mod sequence;
mod server;
mod session;
mod shared;
mod sort;
mod thread;
mod url;
mod view;
mod wire;

pub use config::{ImapListener, ImapOptions};
pub use server::ImapService;

/// A byte stream a session runs on (TCP, or TLS over it).
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + Sync {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + Sync> Io for T {}
