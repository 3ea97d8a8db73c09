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

/// What every session of one service shares.
pub(crate) struct Shared {
    /// The current profile; replaced whole by [`Shared::set_profile`]. Sessions take a
    /// copy of the `Arc` at connect and at each MAIL FROM.
    profile: RwLock<Arc<SmtpProfile>>,
    pub directory: Arc<dyn Directory>,
    pub policy: Arc<dyn Policy>,
    pub store: Arc<dyn Store>,
    pub tls: Option<TlsAcceptor>,
    pub verifier: Option<InboundVerifier>,
    pub counters: Arc<Counters>,
    pub limits: Arc<ClientLimits>,
    pub shutdown: CancellationToken,
}

impl Shared {
    /// A fresh state: zero counters and client limits, not shut down.
    pub fn new(
        profile: SmtpProfile,
        directory: Arc<dyn Directory>,
        policy: Arc<dyn Policy>,
        store: Arc<dyn Store>,
        tls: Option<TlsAcceptor>,
        verifier: Option<InboundVerifier>,
    ) -> Shared {
        Shared {
            profile: RwLock::new(Arc::new(profile)),
            directory,
            policy,
            store,
            tls,
            verifier,
            counters: Arc::new(Counters::default()),
            limits: Arc::new(ClientLimits::default()),
            shutdown: CancellationToken::new(),
        }
    }

    /// The current profile (one short read lock).
    pub fn profile(&self) -> Arc<SmtpProfile> {
        self.profile.read().expect("profile lock").clone()
    }

    /// Replaces the profile: new connections use it, open sessions from their next MAIL FROM.
    pub fn set_profile(&self, profile: SmtpProfile) {
        *self.profile.write().expect("profile lock") = Arc::new(profile);
    }
}
