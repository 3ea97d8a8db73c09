//! DKIM key generation for the local server: a private key for signing and the TXT record
//! to publish at `<selector>._domainkey.<domain>`.

use base64::Engine;
use mail_auth::common::crypto::Ed25519Key;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};

use crate::error::DnsError;
use crate::fix::txt_record;
use crate::names::normalize_domain;

/// Key algorithm for a new DKIM key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DkimAlgorithm {
    /// RSA 2048-bit with SHA-256: what every receiver verifies.
    Rsa2048,
    /// Ed25519 (RFC 8463): small, but not verified by every receiver yet; publish it beside
    /// an RSA selector.
    Ed25519,
}

/// A generated key. `Debug` never shows the private key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedDkimKey {
    /// The algorithm.
    pub algorithm: DkimAlgorithm,
    /// The selector the record is for.
    pub selector: String,
    /// The signing domain.
    pub domain: String,
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`); store it as a secret.
    pub private_key_pem: String,
    /// Where to publish: `<selector>._domainkey.<domain>`.
    pub record_name: String,
    /// The TXT value to publish, e.g. `v=DKIM1; k=rsa; p=MIIB…`.
    pub record_value: String,
}

impl GeneratedDkimKey {
    /// The record in zone-file syntax, long values split into 255-byte strings.
    pub fn zone_record(&self) -> String {
        txt_record(&self.record_name, &self.record_value)
    }
}

impl std::fmt::Debug for GeneratedDkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedDkimKey")
            .field("algorithm", &self.algorithm)
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .field("private_key_pem", &"<redacted>")
            .field("record_name", &self.record_name)
            .field("record_value", &self.record_value)
            .finish()
    }
}

fn crypto(e: impl std::fmt::Display) -> DnsError {
    DnsError::Crypto(e.to_string())
}

/// Generates a key pair and the record to publish. The selector must be a valid DNS label.
pub fn generate_dkim_key(algorithm: DkimAlgorithm, selector: &str, domain: &str) -> Result<GeneratedDkimKey, DnsError> {
    let domain = normalize_domain(domain)?;
    let selector = normalize_domain(selector)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (private_key_pem, record_value) = match algorithm {
        DkimAlgorithm::Rsa2048 => {
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(crypto)?;
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(crypto)?;
            // SubjectPublicKeyInfo, as `openssl rsa -pubout` writes and receivers expect.
            let spki = key.to_public_key().to_public_key_der().map_err(crypto)?;
            (pem.to_string(), format!("v=DKIM1; k=rsa; p={}", b64.encode(spki.as_bytes())))
        }
        DkimAlgorithm::Ed25519 => {
            let pkcs8 = Ed25519Key::generate_pkcs8().map_err(crypto)?;
            let public = Ed25519Key::from_pkcs8_der(&pkcs8).map_err(crypto)?.public_key();
            (pem_wrap("PRIVATE KEY", &pkcs8), format!("v=DKIM1; k=ed25519; p={}", b64.encode(public)))
        }
    };
    Ok(GeneratedDkimKey {
        algorithm,
        record_name: format!("{selector}._domainkey.{domain}"),
        selector,
        domain,
        private_key_pem,
        record_value,
    })
}

fn pem_wrap(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkim::check_key_record;
    use rsa::pkcs8::DecodePrivateKey;

    #[test]
    fn rsa_key_round_trips_and_passes_our_check() {
        let key = generate_dkim_key(DkimAlgorithm::Rsa2048, "postdesk", "Example.test").expect("generates");
        assert_eq!(key.record_name, "postdesk._domainkey.example.test");
        assert!(key.private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{key:?}").contains("BEGIN PRIVATE"));
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&key.private_key_pem).expect("pem");
        let spki = private.to_public_key().to_public_key_der().expect("der");
        let b64 = base64::engine::general_purpose::STANDARD.encode(spki.as_bytes());
        assert!(key.record_value.ends_with(&b64));
        let findings = check_key_record("postdesk", &key.record_name, &key.record_value, false);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, "dkim_ok");
        assert!(findings[0].message.contains("RSA 2048-bit"));
        // Over 255 bytes: the zone record is split into several strings.
        assert!(key.zone_record().contains("\" \""));
    }

    #[test]
    fn ed25519_key_matches_its_record() {
        let key = generate_dkim_key(DkimAlgorithm::Ed25519, "ed", "example.test").expect("generates");
        let der_b64: String = key.private_key_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(der_b64).expect("base64");
        let signer = mail_auth::common::crypto::Ed25519Key::from_pkcs8_der(&der).expect("pkcs8 parses");
        let public = base64::engine::general_purpose::STANDARD.encode(signer.public_key());
        assert_eq!(key.record_value, format!("v=DKIM1; k=ed25519; p={public}"));
        let findings = check_key_record("ed", &key.record_name, &key.record_value, false);
        assert_eq!(findings[0].code, "dkim_ok");
        assert!(generate_dkim_key(DkimAlgorithm::Ed25519, "bad selector", "example.test").is_err());
    }
}
