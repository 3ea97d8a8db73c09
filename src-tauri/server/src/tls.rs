//! TLS for the admin API (rustls): a configured certificate, or a self-signed one made
//! on first start and kept in the data folder, so remote links are encrypted by default.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A certificate chain and key in PEM.
#[derive(Clone)]
pub struct Identity {
    /// Certificate chain, PEM.
    pub cert_pem: String,
    /// Private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("cert_pem", &"…").field("key_pem", &"***").finish()
    }
}

impl Identity {
    /// Loads `cert.pem`/`key.pem` from `dir`, creating a self-signed pair for `names`
    /// (host names or IPs) when absent. The key file is made readable by its owner only.
    pub fn load_or_create(dir: &Path, names: &[String]) -> std::io::Result<Identity> {
        let (cert_path, key_path) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
        if cert_path.exists() && key_path.exists() {
            return Ok(Identity {
                cert_pem: std::fs::read_to_string(cert_path)?,
                key_pem: std::fs::read_to_string(key_path)?,
            });
        }
        let identity = Self::self_signed(names)?;
        std::fs::create_dir_all(dir)?;
        write_private(&key_path, identity.key_pem.as_bytes())?;
        std::fs::write(cert_path, &identity.cert_pem)?;
        Ok(identity)
    }

    /// A fresh self-signed certificate for `names`.
    pub fn self_signed(names: &[String]) -> std::io::Result<Identity> {
        let certified = rcgen::generate_simple_self_signed(names.to_vec()).map_err(std::io::Error::other)?;
        Ok(Identity { cert_pem: certified.cert.pem(), key_pem: certified.key_pair.serialize_pem() })
    }

    /// SHA-256 fingerprint of the leaf certificate, hex with colons (to compare by eye).
    pub fn fingerprint(&self) -> std::io::Result<String> {
        use sha2::Digest;
        let certs = self.certs()?;
        let leaf = certs.first().ok_or_else(|| std::io::Error::other("no certificate in PEM"))?;
        let digest = sha2::Sha256::digest(leaf.as_ref());
        Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
    }

    fn certs(&self) -> std::io::Result<Vec<CertificateDer<'static>>> {
        rustls_pemfile::certs(&mut self.cert_pem.as_bytes()).collect()
    }

    /// A rustls server configuration (TLS 1.2 and 1.3, ring provider).
    pub fn server_config(&self) -> std::io::Result<rustls::ServerConfig> {
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut self.key_pem.as_bytes())?
            .ok_or_else(|| std::io::Error::other("no private key in PEM"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(self.certs()?, key)
            .map_err(std::io::Error::other)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// A TLS listener for `axum::serve`: handshakes run in their own tasks with a timeout,
/// so a slow or hostile client cannot hold up the others.
pub struct TlsListener {
    local: SocketAddr,
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Wraps a bound TCP listener.
    pub fn new(tcp: TcpListener, config: rustls::ServerConfig) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, rx) = mpsc::channel(64);
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
                let (acceptor, sender) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
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
    type Io = TlsStream<TcpStream>;
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
