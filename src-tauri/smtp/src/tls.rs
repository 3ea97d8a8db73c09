//! TLS for STARTTLS and implicit TLS (rustls with the ring provider, TLS 1.2 and 1.3).
//!
//! Either the admin's certificate and key (PEM), or a self-signed certificate made on first
//! start and kept beside the spool (`smtp-cert.pem`, `smtp-key.pem`), so STARTTLS is offered
//! from the first minute. The certificate logic is [`postdesk_tls::Identity`], shared with
//! the admin API; this is the SMTP service's face of it.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

/// The file-name stem of the SMTP certificate: `smtp-cert.pem`, `smtp-key.pem`.
pub const FILE_STEM: &str = "smtp";

/// A certificate chain and its private key, in PEM (its fields are readable through
/// `Deref`). `Debug` never shows the key.
#[derive(Clone, Debug)]
pub struct TlsIdentity(pub postdesk_tls::Identity);

impl std::ops::Deref for TlsIdentity {
    type Target = postdesk_tls::Identity;

    fn deref(&self) -> &postdesk_tls::Identity {
        &self.0
    }
}

impl From<postdesk_tls::Identity> for TlsIdentity {
    fn from(identity: postdesk_tls::Identity) -> Self {
        TlsIdentity(identity)
    }
}

impl TlsIdentity {
    /// Loads `smtp-cert.pem`/`smtp-key.pem` from `dir`, or makes a self-signed pair for
    /// `names` and keeps it there (key readable by the owner only).
    pub fn load_or_create(dir: &Path, names: &[String]) -> std::io::Result<TlsIdentity> {
        postdesk_tls::Identity::load_or_create(dir, FILE_STEM, names).map(TlsIdentity)
    }

    /// A fresh self-signed certificate for `names` (host names or IP addresses).
    pub fn self_signed(names: &[String]) -> std::io::Result<TlsIdentity> {
        postdesk_tls::Identity::self_signed(names).map(TlsIdentity)
    }

    /// The leaf and chain as DER.
    pub fn certificates(&self) -> std::io::Result<Vec<CertificateDer<'static>>> {
        self.0.certificates()
    }

    /// A rustls server configuration for this identity.
    pub fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        self.0.server_config().map(Arc::new)
    }
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
        assert!(dir.path().join("smtp-cert.pem").is_file() && dir.path().join("smtp-key.pem").is_file());
        assert!(a.server_config().is_ok());
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
