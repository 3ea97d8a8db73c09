//! Postdesk's contract: what a backend is, apart from how one is built.
//!
//! Everything a user can do to a backend is an operation of the [`Backend`] trait
//! ([`api`], generated from one table); the types it takes and returns ([`model`],
//! [`settings`], [`policy`], [`smtp`]); the one boundary [`Error`]; the role rules a
//! backend applies to its caller ([`access`]); and the pure rules every implementation
//! shares — settings resolution ([`settings`]), the delivery policy decision
//! ([`policy`]), pickup patterns ([`pickup`]) and input validation ([`validate`]).
//! The mail services (SMTP now; IMAP, POP3, the outbound queue next) see a backend's
//! store only through the traits of [`mail`].
//!
//! No I/O happens here: no database, no network, no files (sqlx appears only behind the
//! `sqlx` feature, for `From<sqlx::Error>`). Nothing here holds a password or its hash.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod api;
pub mod autoreply;
pub mod bindings;
pub mod error;
pub mod forwarding;
pub mod mail;
pub mod model;
pub mod monitor;
pub mod outbound;
pub mod phone;
pub mod pickup;
pub mod policy;
pub mod relay;
pub mod rules;
pub mod secret;
pub mod settings;
pub mod shared;
pub mod smtp;
pub mod trace;
pub mod validate;

pub use api::{Backend, Operation, OperationVisitor, Transport};
pub use error::{Error, ErrorCode, Result};
