//! The service: listeners, connection admission, graceful shutdown.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ListenerKind, SmtpProfile};
use crate::counters::{Counters, CountersSnapshot, Refusal, RefusalStage};
use crate::directory::Directory;
use crate::inbound::InboundVerifier;
use crate::limits::ClientLimits;
use crate::policy::{NoPolicy, Policy};
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::{ProfileCell, Shared};
use crate::store::incoming::DataBudget;
use crate::store::{DataLimits, Store};
use crate::tls::TlsIdentity;
use postdesk_tls::Stream;

/// How long an implicit-TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds an [`SmtpService`].
pub struct SmtpServiceBuilder {
    profile: SmtpProfile,
    directory: Arc<dyn Directory>,
    store: Arc<dyn Store>,
    policy: Arc<dyn Policy>,
    tls: Option<TlsIdentity>,
    verifier: Option<InboundVerifier>,
    data: DataLimits,
    refusals: Option<Arc<dyn crate::trace::RefusalSink>>,
}

impl SmtpServiceBuilder {
    /// The policy hook asked at every stage (default: [`NoPolicy`]).
    pub fn policy(mut self, policy: Arc<dyn Policy>) -> Self {
        self.policy = policy;
        self
    }

    /// The certificate for STARTTLS and implicit TLS. Without one, STARTTLS is not
    /// offered and implicit-TLS listeners cannot start.
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The DNS-based checks (SPF/DKIM/DMARC, reverse DNS, sender domain). Without a
    /// verifier those checks are skipped.
    pub fn verifier(mut self, verifier: InboundVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Where refused messages go for the message trace (default: nowhere).
    pub fn refusal_sink(mut self, sink: Arc<dyn crate::trace::RefusalSink>) -> Self {
        self.refusals = Some(sink);
        self
    }

    /// Where message data waits while it arrives and how much of it may be in memory
    /// (default: [`DataLimits::default`], temporary files in the system's temporary folder).
    pub fn data_limits(mut self, limits: DataLimits) -> Self {
        self.data = limits;
        self
    }

    /// Builds the service (no listener yet).
    pub fn build(self) -> std::io::Result<SmtpService> {
        let tls = match &self.tls {
            Some(identity) => Some(TlsAcceptor::from(identity.server_config()?)),
            None => None,
        };
        let shared = Arc::new(Shared {
            profile: ProfileCell::new(self.profile),
            directory: self.directory,
            policy: self.policy,
            store: self.store,
            tls,
            verifier: self.verifier,
            counters: Arc::new(Counters::default()),
            refusals: self.refusals,
            limits: Arc::new(ClientLimits::default()),
            data: Arc::new(DataBudget::new(self.data)),
            shutdown: CancellationToken::new(),
        });
        Ok(SmtpService { shared, tracker: TaskTracker::new(), listeners: Mutex::new(Vec::new()) })
    }
}

/// A running SMTP service: any number of listeners sharing one profile, directory,
/// policy, store and set of counters.
///
/// The profile can be replaced while it runs ([`SmtpService::set_profile`]): black and
/// white lists, limits, sender and connection policy, host name and banner apply from the
/// next connection, and — for a session already open — from its next MAIL FROM, so a
/// transaction runs under one profile from MAIL to the end of DATA. The listeners and the
/// TLS identity are fixed when the service is built.
pub struct SmtpService {
    shared: Arc<Shared>,
    tracker: TaskTracker,
    listeners: Mutex<Vec<(ListenerKind, SocketAddr)>>,
}

impl std::fmt::Debug for SmtpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpService").field("hostname", &self.shared.profile().hostname).finish()
    }
}

impl SmtpService {
    /// Starts building a service.
    pub fn builder(profile: SmtpProfile, directory: Arc<dyn Directory>, store: Arc<dyn Store>) -> SmtpServiceBuilder {
        SmtpServiceBuilder {
            profile,
            directory,
            store,
            policy: Arc::new(NoPolicy),
            tls: None,
            verifier: None,
            data: DataLimits::default(),
            refusals: None,
        }
    }

    /// Binds `addr` and serves `kind` on it; returns the bound address (port 0 picks one).
    pub async fn listen(&self, kind: ListenerKind, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(kind, listener)
    }

    /// Serves `kind` on an already bound listener.
    pub fn serve(&self, kind: ListenerKind, listener: TcpListener) -> std::io::Result<SocketAddr> {
        if kind == ListenerKind::Submissions && self.shared.tls.is_none() {
            return Err(std::io::Error::other("the implicit-TLS listener needs a certificate"));
        }
        let local = listener.local_addr()?;
        self.listeners.lock().expect("listeners lock").push((kind, local));
        let shared = self.shared.clone();
        let tracker = self.tracker.clone();
        self.tracker.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    r = listener.accept() => r,
                    _ = shared.shutdown.cancelled() => break,
                };
                match accepted {
                    Ok((tcp, peer)) => {
                        let shared = shared.clone();
                        tracker.spawn(admit(shared, kind, tcp, peer));
                    }
                    Err(e) => {
                        tracing::warn!("accept on {local} failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        tracing::info!(listener = kind.name(), %local, "SMTP listening");
        Ok(local)
    }

    /// The live counters.
    pub fn counters(&self) -> CountersSnapshot {
        let mut snapshot = self.shared.counters.snapshot();
        let data = &self.shared.data;
        snapshot.data_spooled_to_disk = data.spilled.load(std::sync::atomic::Ordering::Relaxed);
        snapshot.data_budget_waits = data.waits.load(std::sync::atomic::Ordering::Relaxed);
        snapshot.data_budget_waiting = data.waiting.load(std::sync::atomic::Ordering::Relaxed);
        snapshot
    }

    /// The last refusals, newest first (at most [`REFUSAL_LOG_LEN`](crate::REFUSAL_LOG_LEN)).
    pub fn recent_refusals(&self) -> Vec<Refusal> {
        self.shared.counters.recent_refusals()
    }

    /// The listeners serving, with their bound addresses, in the order they were started.
    pub fn listeners(&self) -> Vec<(ListenerKind, SocketAddr)> {
        self.listeners.lock().expect("listeners lock").clone()
    }

    /// The profile in force now.
    pub fn profile(&self) -> Arc<SmtpProfile> {
        self.shared.profile()
    }

    /// The message data limits the service was built with (they do not change while it
    /// runs: a changed budget applies when the service is built again).
    pub fn data_limits(&self) -> &DataLimits {
        self.shared.data.limits()
    }

    /// Replaces the profile without touching the listeners: new connections use it, and
    /// open sessions from their next MAIL FROM (see [`SmtpService`]).
    pub fn set_profile(&self, profile: SmtpProfile) {
        self.shared.profile.set(profile);
        tracing::info!("SMTP profile replaced");
    }

    /// Stops accepting, tells idle sessions 421 and closes them; sessions storing a
    /// message finish first. Waits up to `grace` for all sessions to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_err() {
            tracing::warn!("SMTP sessions still running after {grace:?}");
        }
    }
}

/// Admission of one connection: global and per-IP limits, implicit TLS, then the session.
async fn admit(shared: Arc<Shared>, kind: ListenerKind, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    shared.counters.connection_opened();
    let profile = shared.profile();
    let refusal = |reply: Reply, rule: &str| {
        let record = Refusal::new(peer.ip(), kind, RefusalStage::Connect, None, None, rule, &reply);
        shared.counters.refusal(record);
        let mut out = Vec::new();
        reply.write_to(&mut out);
        out
    };
    let active = shared.counters.active();
    let slot = if active > profile.max_connections as u64 {
        Err(refusal(Reply::new(421, [4, 7, 0], "Too many connections, try again later"), "max_connections"))
    } else if shared.limits.penalised(peer.ip()) {
        Err(refusal(
            Reply::new(421, [4, 7, 0], "Too many unknown recipients from your address, try again later"),
            "recipient_probing",
        ))
    } else {
        shared.limits.connect(peer.ip(), profile.connection.max_connections_per_ip).ok_or_else(|| {
            refusal(
                Reply::new(421, [4, 7, 0], "Too many connections from your address, try again later"),
                "connection_limit",
            )
        })
    };
    let stream = Stream::Plain(tcp);
    let stream = if kind == ListenerKind::Submissions {
        let Some(acceptor) = shared.tls.clone() else {
            shared.counters.connection_closed();
            return;
        };
        let Stream::Plain(tcp) = stream else { unreachable!("just built") };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => {
                shared.counters.tls();
                Stream::Tls(Box::new(tls))
            }
            _ => {
                tracing::debug!(%peer, "implicit TLS handshake failed");
                shared.counters.connection_closed();
                return;
            }
        }
    } else {
        stream
    };
    match slot {
        Ok(slot) => Session::new(shared.clone(), profile, kind, peer, stream, slot).run().await,
        Err(reply) => {
            use tokio::io::AsyncWriteExt;
            let mut stream = stream;
            let _ = stream.write_all(&reply).await;
            let _ = stream.shutdown().await;
        }
    }
    shared.counters.connection_closed();
}
