//! What every session of one service shares: built and updated by the server, read by
//! the sessions.

use std::sync::{Arc, RwLock};

use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::SmtpProfile;
use crate::counters::Counters;
use crate::directory::Directory;
use crate::inbound::InboundVerifier;
use crate::limits::ClientLimits;
use crate::policy::Policy;
use crate::store::Store;
use crate::store::incoming::DataBudget;

/// What every session of one service shares.
pub(crate) struct Shared {
    /// The current profile; replaced whole by [`SmtpService::set_profile`]. Sessions take a
    /// copy of the `Arc` at connect and at each MAIL FROM.
    ///
    /// [`SmtpService::set_profile`]: crate::SmtpService::set_profile
    pub profile: ProfileCell,
    pub directory: Arc<dyn Directory>,
    pub policy: Arc<dyn Policy>,
    pub store: Arc<dyn Store>,
    pub tls: Option<TlsAcceptor>,
    pub verifier: Option<InboundVerifier>,
    pub counters: Arc<Counters>,
    /// Where refused messages go for the message trace, if anywhere.
    pub refusals: Option<Arc<dyn crate::trace::RefusalSink>>,
    pub limits: Arc<ClientLimits>,
    /// Message bytes in memory over all sessions, and where larger messages wait on disk.
    pub data: Arc<DataBudget>,
    pub shutdown: CancellationToken,
}

impl Shared {
    /// The current profile (one short read lock).
    pub fn profile(&self) -> Arc<SmtpProfile> {
        self.profile.get()
    }
}

/// A profile that is replaced whole while readers keep the copy they took.
pub(crate) struct ProfileCell(RwLock<Arc<SmtpProfile>>);

impl ProfileCell {
    pub fn new(profile: SmtpProfile) -> ProfileCell {
        ProfileCell(RwLock::new(Arc::new(profile)))
    }

    /// The current profile (one short read lock).
    pub fn get(&self) -> Arc<SmtpProfile> {
        self.0.read().expect("profile lock").clone()
    }

    /// Replaces the profile; copies already taken stay as they are.
    pub fn set(&self, profile: SmtpProfile) {
        *self.0.write().expect("profile lock") = Arc::new(profile);
    }
}
