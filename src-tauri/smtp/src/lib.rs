//! Postdesk's SMTP service: inbound MX, submission with STARTTLS and submission over
//! implicit TLS (RFC 5321, 6409, 8314), free of Tauri and of the organisation engine.
//!
//! Contract. A message is answered 250 only after the [`Store`] has made it durable
//! (fsync'd); [`FileSpool`] does that with group commit, one fdatasync per batch of
//! concurrently arriving messages. Recipients at our domains are checked with the
//! [`Directory`] at RCPT, so unknown ones are refused there (550 5.1.1) and never bounce
//! later. Each refusal carries an RFC 3463 enhanced code and is counted under the rule
//! that caused it ([`CountersSnapshot::refused`]). AUTH (PLAIN, LOGIN) is offered only
//! over TLS unless the [`SmtpProfile`] allows otherwise, and passwords never reach a log or
//! a `Debug` output. The crate never decides organisation policy itself beyond the
//! profile's built-in lists and sender/connection checks: everything else is asked of the
//! [`Policy`] hook at connect, MAIL, RCPT and end of DATA.
//!
//! Seams for the engine: [`Directory`] (recipients, authentication, sender addresses,
//! local domains), [`Policy`] (per-stage decision), [`Store`] (durable acceptance; any
//! store can batch through [`GroupCommit`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod counters;
mod directory;
mod inbound;
mod limits;
mod policy;
mod received;
mod reply;
mod sasl;
mod server;
mod session;
mod shared;
pub mod store;
mod tls;
mod trace;

pub use config::{
    ConnectionPolicy, InboundAuth, IpNet, ListAction, ListMatch, ListRule, ListenerKind, ProbingPolicy, RateLimit,
    SenderPolicy, SmtpProfile,
};
pub use counters::{Counters, CountersSnapshot, REFUSAL_LOG_LEN, Refusal, RefusalStage};
pub use directory::{Account, AuthOutcome, Directory, DirectoryError, MemoryDirectory, MessageStatus, RecipientStatus};
pub use inbound::InboundVerifier;
pub use policy::{NoPolicy, Policy, PolicyRequest, Stage, Verdict};
pub use reply::Reply;
pub use server::{SmtpService, SmtpServiceBuilder};
pub use store::{DataLimits, Envelope, FileSpool, GroupCommit, QueueId, Store, StoreError};
pub use tls::TlsIdentity;
pub use trace::RefusalSink;
