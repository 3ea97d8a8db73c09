//! Postdesk's desktop shell.
//!
//! Contract: the window's web UI reaches backends only through this crate's IPC
//! commands ([`commands`], feature `desktop`), which are thin wrappers over plain
//! modules that need no Tauri and are unit-tested as such:
//! * [`backends`]: the bundled backend `local` (the engine in the OS app-data folder,
//!   acting as the local owner) and remote ones (`postdesk serve` elsewhere);
//! * [`registry`]: the remote backends' non-secret parts, in `backends.json`;
//! * [`secret`]: tokens in the OS keyring, never in a file, a log or a `Debug`;
//! * [`rotation`]: when a remote backend's token is replaced by its successor;
//! * [`local_server`]: the bundled server's admin API listener;
//! * [`local_smtp`]: the bundled mail server (SMTP listeners, spool, delivery), started
//!   with the app;
//! * [`files`]: exports saved and imports read where the user chose in the OS's own
//!   save and open dialogs.
//!
//! The capability file grants the main window exactly these commands and no core plugin.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backends;
pub mod files;
pub mod ipc;
pub mod local_server;
pub mod local_smtp;
pub mod registry;
pub mod rotation;
pub mod secret;
pub mod state;

#[cfg(feature = "desktop")]
pub mod commands;
#[cfg(feature = "desktop")]
mod desktop;

#[cfg(feature = "desktop")]
pub use desktop::run;
