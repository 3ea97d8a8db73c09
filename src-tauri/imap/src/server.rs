//! The service: listeners, connection admission, graceful shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postdesk_contract::mail::MailBackend;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ImapListener, ImapOptions};
use crate::session::Session;
use crate::shared::Shared;

/// How long an implicit-TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// A running IMAP service.
pub struct ImapService {
    shared: Arc<Shared>,
    tracker: TaskTracker,
    listeners: Mutex<Vec<(ImapListener, SocketAddr)>>,
}

impl std::fmt::Debug for ImapService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapService").field("listeners", &self.listeners()).finish()
    }
}

impl ImapService {
    /// A service over `backend`; with an identity, STARTTLS and implicit TLS work.
    pub fn new(
        backend: Arc<dyn MailBackend>,
        identity: Option<&postdesk_tls::Identity>,
        options: ImapOptions,
    ) -> std::io::Result<ImapService> {
        let tls = match identity {
            Some(identity) => Some(TlsAcceptor::from(Arc::new(identity.server_config()?))),
            None => None,
        };
        let shared = Arc::new(Shared {
            backend,
            tls,
            options,
            shutdown: CancellationToken::new(),
            recent: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            active: Default::default(),
            url_keys: Mutex::new(HashMap::new()),
        });
        Ok(ImapService { shared, tracker: TaskTracker::new(), listeners: Mutex::new(Vec::new()) })
    }

    /// Binds `addr` and serves `kind` there; returns the bound address.
    pub async fn listen(&self, kind: ImapListener, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        if kind == ImapListener::Imaps && self.shared.tls.is_none() {
            return Err(std::io::Error::other("the implicit-TLS listener needs a certificate"));
        }
        let listener = TcpListener::bind(addr).await?;
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
                        tracing::warn!("IMAP accept on {local} failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        tracing::info!(listener = kind.name(), %local, "IMAP listening");
        Ok(local)
    }

    /// The listeners with their bound addresses.
    pub fn listeners(&self) -> Vec<(ImapListener, SocketAddr)> {
        self.listeners.lock().expect("listeners lock").clone()
    }

    /// Sessions open now.
    pub fn active(&self) -> usize {
        self.shared.active.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting and ends every session (`* BYE`), waiting up to `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_err() {
            tracing::warn!("IMAP sessions still running after {grace:?}");
        }
    }
}

/// A connection slot: released when dropped.
struct Slot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let mut map = self.shared.connections.lock().expect("connections lock");
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

async fn admit(shared: Arc<Shared>, kind: ImapListener, tcp: TcpStream, peer: SocketAddr) {
    use tokio::io::AsyncWriteExt;
    let _ = tcp.set_nodelay(true);
    let admitted = {
        let mut map = shared.connections.lock().expect("connections lock");
        let active = shared.active.load(std::sync::atomic::Ordering::Relaxed);
        let mine = map.get(&peer.ip()).copied().unwrap_or(0);
        if active >= shared.options.max_connections || mine >= shared.options.max_connections_per_ip {
            false
        } else {
            *map.entry(peer.ip()).or_insert(0) += 1;
            shared.active.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            true
        }
    };
    let (stream, tls): (Box<dyn crate::Io>, bool) = if kind == ImapListener::Imaps {
        let Some(acceptor) = shared.tls.clone() else { return };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => (Box::new(tls), true),
            _ => {
                tracing::debug!(%peer, "IMAP implicit TLS handshake failed");
                if admitted {
                    drop(Slot { shared, ip: peer.ip() });
                }
                return;
            }
        }
    } else {
        (Box::new(tcp), false)
    };
    if !admitted {
        let mut stream = stream;
        let _ = stream.write_all(b"* BYE Too many connections, try again later\r\n").await;
        let _ = stream.shutdown().await;
        return;
    }
    let slot = Slot { shared: shared.clone(), ip: peer.ip() };
    Session::new(shared, stream, tls, peer).run().await;
    drop(slot);
}
