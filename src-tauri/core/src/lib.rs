//! Postdesk's organisation engine.
//!
//! Contract: everything a user can do to a backend is an operation of the [`Backend`]
//! trait ([`api`]); [`engine::LocalBackend`] implements it over SQLite with one
//! transaction per operation, an audit entry inside each, and role checks before any
//! lookup. Nothing here returns a password or a password hash. No network, no UI.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod bindings;
pub mod desktop;
pub mod engine;
pub mod error;
pub mod model;
pub mod password;
pub mod pickup;
pub mod policy;
pub mod settings;
pub mod smtp;
pub mod validate;
pub mod xlsx;

pub use api::{Backend, Operation, OperationVisitor, Transport};
pub use engine::{Engine, LocalBackend};
pub use error::{Error, ErrorCode, Result};
