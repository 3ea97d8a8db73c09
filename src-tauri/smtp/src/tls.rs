//! TLS for STARTTLS and implicit TLS (rustls with the ring provider, TLS 1.2 and 1.3).
//!
//! Either the admin's certificate and key (PEM), or a self-signed certificate made on first
//! start and kept beside the spool, so STARTTLS is offered from the first minute.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its private key, in PEM. `Debug` never shows the key.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Certificate chain, PEM.
    pub cert_pem: String,
    /// Private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("cert_pem", &"…").field("key_pem", &"***").finish()
    }
}

impl TlsIdentity {
    /// Loads `smtp-cert.pem`/`smtp-key.pem` from `dir`, or makes a self-signed pair for
    /// `names` and keeps it there (key readable by the owner only).
    pub fn load_or_create(dir: &Path, names: &[String]) -> std::io::Result<TlsIdentity> {
        let (cert_path, key_path) = (dir.join("smtp-cert.pem"), dir.join("smtp-key.pem"));
        if cert_path.exists() && key_path.exists() {
            return Ok(TlsIdentity {
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

    /// A fresh self-signed certificate for `names` (host names or IP addresses).
    pub fn self_signed(names: &[String]) -> std::io::Result<TlsIdentity> {
        let certified = rcgen::generate_simple_self_signed(names.to_vec()).map_err(std::io::Error::other)?;
        Ok(TlsIdentity { cert_pem: certified.cert.pem(), key_pem: certified.key_pair.serialize_pem() })
    }

    /// The leaf and chain as DER.
    pub fn certificates(&self) -> std::io::Result<Vec<CertificateDer<'static>>> {
        rustls_pemfile::certs(&mut self.cert_pem.as_bytes()).collect()
    }

    /// A rustls server configuration for this identity.
    pub fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut self.key_pem.as_bytes())?
            .ok_or_else(|| std::io::Error::other("no private key in PEM"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(self.certificates()?, key)
            .map_err(std::io::Error::other)?;
        Ok(Arc::new(config))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = TlsIdentity::load_or_create(dir.path(), &["mx.example.test".into()]).unwrap();
        let b = TlsIdentity::load_or_create(dir.path(), &["other".into()]).unwrap();
        assert_eq!(a.cert_pem, b.cert_pem);
        assert!(a.server_config().is_ok());
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
