//! TLS for the admin API (rustls): a configured certificate, or a self-signed one made
//! on first start and kept in the data folder (`tls-cert.pem`, `tls-key.pem`), so remote
//! links are encrypted by default. The certificate logic is [`postdesk_tls`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::limits::{Counted, Limits};

/// A certificate chain and key in PEM: the identity shared with the SMTP service.
/// The admin API keeps its own in the data folder with [`FILE_STEM`]:
/// `Identity::load_or_create(dir, FILE_STEM, names)`.
pub use postdesk_tls::Identity;

/// The file-name stem of the admin API's certificate: `tls-cert.pem`, `tls-key.pem`.
pub const FILE_STEM: &str = "tls";

/// A TLS listener for `axum::serve`: handshakes run in their own tasks with a timeout,
/// so a slow or hostile client cannot hold up the others; connections are capped
/// ([`crate::limits`]) from the TCP accept on.
pub struct TlsListener {
    local: SocketAddr,
    rx: mpsc::Receiver<(Counted<TlsStream<TcpStream>>, SocketAddr)>,
}

impl TlsListener {
    /// Wraps a bound TCP listener.
    pub fn new(tcp: TcpListener, config: rustls::ServerConfig) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, rx) = mpsc::channel(64);
        let limits = std::sync::Arc::new(Limits::default());
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Counted from here, so handshakes in flight are capped too.
                let Some(slot) = limits.admit(peer) else { continue };
                let (acceptor, sender) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((Counted::new(tls, slot), peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                });
                if tx.is_closed() {
                    break;
                }
            }
        });
        Ok(TlsListener { local, rx })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = Counted<TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
