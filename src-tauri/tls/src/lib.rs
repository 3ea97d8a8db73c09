//! The one TLS identity of Postdesk's listeners (admin API, SMTP): a certificate chain and
//! its key in PEM, either configured by the admin or self-signed on first start and kept in
//! the data folder (key readable by its owner only), turned into a rustls server
//! configuration (ring provider, TLS 1.2 and 1.3).
//!
//! Each service keeps its own pair of files, named by a stem: `tls-cert.pem`/`tls-key.pem`
//! for the admin API, `smtp-cert.pem`/`smtp-key.pem` for the mail services (SMTP, IMAP,
//! POP3). [`Stream`] is the mail services' connection, upgraded in place by STARTTLS/STLS.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod stream;

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use stream::Stream;

/// A certificate chain and its private key, in PEM. `Debug` never shows the key.
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
    /// Loads `<stem>-cert.pem`/`<stem>-key.pem` from `dir`, or makes a self-signed pair for
    /// `names` (host names or IP addresses) and keeps it there, the key readable by its
    /// owner only. The names matter only when the pair is made.
    pub fn load_or_create(dir: &Path, stem: &str, names: &[String]) -> std::io::Result<Identity> {
        let (cert_path, key_path) = (dir.join(format!("{stem}-cert.pem")), dir.join(format!("{stem}-key.pem")));
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

    /// A fresh self-signed certificate for `names` (host names or IP addresses).
    pub fn self_signed(names: &[String]) -> std::io::Result<Identity> {
        let certified = rcgen::generate_simple_self_signed(names.to_vec()).map_err(std::io::Error::other)?;
        Ok(Identity { cert_pem: certified.cert.pem(), key_pem: certified.key_pair.serialize_pem() })
    }

    /// The leaf and chain as DER.
    pub fn certificates(&self) -> std::io::Result<Vec<CertificateDer<'static>>> {
        rustls_pemfile::certs(&mut self.cert_pem.as_bytes()).collect()
    }

    /// SHA-256 fingerprint of the leaf certificate, hex with colons (to compare by eye).
    pub fn fingerprint(&self) -> std::io::Result<String> {
        use sha2::Digest;
        let certs = self.certificates()?;
        let leaf = certs.first().ok_or_else(|| std::io::Error::other("no certificate in PEM"))?;
        let digest = sha2::Sha256::digest(leaf.as_ref());
        Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
    }

    /// A rustls server configuration for this identity (TLS 1.2 and 1.3, ring provider).
    pub fn server_config(&self) -> std::io::Result<rustls::ServerConfig> {
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut self.key_pem.as_bytes())?
            .ok_or_else(|| std::io::Error::other("no private key in PEM"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(self.certificates()?, key)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_per_stem_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Identity::load_or_create(dir.path(), "smtp", &["mx.example.test".into()]).unwrap();
        let b = Identity::load_or_create(dir.path(), "smtp", &["other".into()]).unwrap();
        assert_eq!(a.cert_pem, b.cert_pem);
        assert!(dir.path().join("smtp-cert.pem").is_file() && dir.path().join("smtp-key.pem").is_file());
        // Another stem is another identity beside it.
        let c = Identity::load_or_create(dir.path(), "tls", &["localhost".into()]).unwrap();
        assert_ne!(a.cert_pem, c.cert_pem);
        assert!(dir.path().join("tls-cert.pem").is_file() && dir.path().join("tls-key.pem").is_file());
        assert!(a.server_config().is_ok());
        assert_eq!(a.fingerprint().unwrap().len(), 32 * 3 - 1);
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Identity::load_or_create(dir.path(), "tls", &["localhost".into()]).unwrap();
        let mode = std::fs::metadata(dir.path().join("tls-key.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_pair_without_a_key_is_refused() {
        let id = Identity { key_pem: String::new(), ..Identity::self_signed(&["localhost".into()]).unwrap() };
        assert!(id.server_config().is_err());
    }
}
