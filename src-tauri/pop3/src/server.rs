//! The service: listeners, connection admission, graceful shutdown.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postdesk_contract::mail::MailBackend;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Pop3Limits, Pop3Listener};
use crate::limits::{Admission, Full};
use crate::session::Session;
use crate::shared::Shared;
use postdesk_tls::Stream;

/// Builds a [`Pop3Service`].
pub struct Pop3ServiceBuilder {
    backend: Arc<dyn MailBackend>,
    tls: Option<postdesk_tls::Identity>,
    limits: Pop3Limits,
}

impl Pop3ServiceBuilder {
    /// The certificate for STLS and POP3S. Without one no listener can start, since
    /// logins are accepted only over TLS.
    pub fn tls(mut self, identity: postdesk_tls::Identity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The resource limits (default: [`Pop3Limits::default`]).
    pub fn limits(mut self, limits: Pop3Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the service (no listener yet).
    pub fn build(self) -> std::io::Result<Pop3Service> {
        let tls = match &self.tls {
            Some(identity) => Some(TlsAcceptor::from(Arc::new(identity.server_config()?))),
            None => None,
        };
        let shared = Arc::new(Shared {
            backend: self.backend,
            tls,
            limits: self.limits,
            admission: Arc::new(Admission::default()),
            shutdown: CancellationToken::new(),
        });
        Ok(Pop3Service { shared, tracker: TaskTracker::new(), listeners: Mutex::new(Vec::new()) })
    }
}

/// A running POP3 service: any number of listeners sharing one backend, TLS identity and
/// set of limits. See the [crate documentation](crate) for what it guarantees.
pub struct Pop3Service {
    shared: Arc<Shared>,
    tracker: TaskTracker,
    listeners: Mutex<Vec<(Pop3Listener, SocketAddr)>>,
}

impl std::fmt::Debug for Pop3Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Service")
            .field("listeners", &self.listeners())
            .field("tls", &self.shared.tls.is_some())
            .field("limits", &self.shared.limits)
            .finish()
    }
}

impl Pop3Service {
    /// Starts building a service over `backend` (its directory for logins, its store for
    /// the INBOX).
    pub fn builder(backend: Arc<dyn MailBackend>) -> Pop3ServiceBuilder {
        Pop3ServiceBuilder { backend, tls: None, limits: Pop3Limits::default() }
    }

    /// Binds `addr` and serves `kind` on it; returns the bound address (port 0 picks one).
    pub async fn listen(&self, kind: Pop3Listener, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        self.check(kind)?;
        let listener = TcpListener::bind(addr).await?;
        self.serve(kind, listener)
    }

    /// Serves `kind` on an already bound listener.
    pub fn serve(&self, kind: Pop3Listener, listener: TcpListener) -> std::io::Result<SocketAddr> {
        self.check(kind)?;
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
                        tracker.spawn(admit(shared.clone(), kind, tcp, peer));
                    }
                    Err(e) => {
                        tracing::warn!("accept on {local} failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        tracing::info!(listener = kind.name(), %local, "POP3 listening");
        Ok(local)
    }

    fn check(&self, kind: Pop3Listener) -> std::io::Result<()> {
        if self.shared.tls.is_none() {
            return Err(std::io::Error::other(format!(
                "the {} listener needs a certificate: POP3 logins are accepted only over TLS",
                kind.name()
            )));
        }
        if self.shared.shutdown.is_cancelled() {
            return Err(std::io::Error::other("the POP3 service is shut down"));
        }
        Ok(())
    }

    /// The listeners serving, with their bound addresses, in the order they were started.
    pub fn listeners(&self) -> Vec<(Pop3Listener, SocketAddr)> {
        self.listeners.lock().expect("listeners lock").clone()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Pop3Limits {
        &self.shared.limits
    }

    /// Stops accepting, lets commands being handled finish (a QUIT's update included),
    /// tells waiting sessions `-ERR [SYS/TEMP]` and closes them, without updating their
    /// mailboxes. Waits up to `grace` for all sessions to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_err() {
            tracing::warn!("POP3 sessions still running after {grace:?}");
        }
    }
}

/// Admission of one connection: global and per-IP limits, implicit TLS, then the session.
async fn admit(shared: Arc<Shared>, kind: Pop3Listener, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let limits = &shared.limits;
    let slot = match shared.admission.admit(peer.ip(), limits.max_connections, limits.max_connections_per_ip) {
        Ok(slot) => slot,
        Err(full) => {
            tracing::debug!(%peer, ?full, "POP3 connection refused");
            // No TLS handshake for a connection we refuse: on POP3S it is just closed.
            if kind == Pop3Listener::Pop3 {
                let text = match full {
                    Full::Service => "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
                    Full::Client => "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n",
                };
                let mut tcp = tcp;
                let _ = tokio::time::timeout(limits.handshake_timeout, async {
                    let _ = tcp.write_all(text.as_bytes()).await;
                    let _ = tcp.shutdown().await;
                })
                .await;
            }
            return;
        }
    };
    let stream = match kind {
        Pop3Listener::Pop3 => Stream::Plain(tcp),
        Pop3Listener::Pop3s => {
            let Some(acceptor) = shared.tls.clone() else { return };
            let handshake = tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp));
            let result = tokio::select! {
                r = handshake => r,
                _ = shared.shutdown.cancelled() => return,
            };
            match result {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                _ => {
                    tracing::debug!(%peer, "POP3S handshake failed");
                    return;
                }
            }
        }
    };
    Session::new(shared.clone(), peer, stream, slot).run().await;
}
