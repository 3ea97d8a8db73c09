//! What every session of the service shares: built by the server, read by the sessions.

use std::sync::Arc;

use postdesk_contract::mail::MailBackend;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::Pop3Limits;
use crate::limits::Admission;

/// What every session of one service shares.
pub(crate) struct Shared {
    pub backend: Arc<dyn MailBackend>,
    pub tls: Option<TlsAcceptor>,
    pub limits: Pop3Limits,
    pub admission: Arc<Admission>,
    pub shutdown: CancellationToken,
}
