//! Postdesk's server: the admin HTTP API (and, in later parts, the mail services).
//!
//! The API is a thin mapping of the [`Backend`] trait: one route per operation of the
//! table in `postdesk_core::api`, mounted by walking it, so routes cannot drift from the
//! trait. Each request authenticates its bearer token to a `Caller` and runs the
//! operation on a `LocalBackend` acting as that caller, so role checks are the engine's
//! and identical for the desktop app, the CLI and HTTP.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod http;
pub mod openapi;
pub mod tls;

pub use http::{ApiError, router};
